"""Resolving a device name into a ``torch.device``, the same way everywhere.

The name comes from the caller (the apps pass ``settings.STYLE_DEVICE`` / ``FACES_DEVICE``, the
CLIs their ``--device``); nothing here reads the environment, so what a function runs on is
visible at its call.
"""

from __future__ import annotations

import torch

AUTO = "auto"


def pick_device(preferred: str | torch.device | None = AUTO) -> torch.device:
    """The device named by ``preferred`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a ``torch.device``).

    ``"auto"``, ``""`` or ``None``: CUDA if present, then MPS, then CPU.
    """
    if isinstance(preferred, torch.device):
        return preferred
    if preferred and preferred != AUTO:
        return torch.device(preferred)
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
