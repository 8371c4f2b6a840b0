"""Choosing the compute device once, the same way everywhere."""

from __future__ import annotations

import os

import torch


def pick_device(preferred: str | None = None) -> torch.device:
    """Return the device to run on.

    ``preferred`` (or the ``NSTSITE_DEVICE`` environment variable) may name one explicitly
    (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``); otherwise CUDA if present, then MPS, then CPU.
    """
    name = preferred or os.environ.get("NSTSITE_DEVICE") or ""
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    """A short human-readable name for ``device``, e.g. ``"cuda (NVIDIA H100)"`` or ``"cpu (2 threads)"``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
