"""The style engines a worker keeps warm: each loads once per process (in :data:`ml.cache.models`),
on first use or at start-up, on ``settings.STYLE_DEVICE``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from django.conf import settings

from ml.cache import models
from ml.device import describe, pick_device
from ml.style.gatys_params import DEFAULT_NETWORK, NETWORKS

if TYPE_CHECKING:
    from ml.style.arbitrary import ArbitraryStylizer
    from ml.style.fast import FastStylizer
    from ml.style.networks import LossNetwork
    from ml.style.presets import PresetStylizer


def device() -> torch.device:
    """The device style models run on: ``STYLE_DEVICE`` resolved (``auto``: CUDA if present, else CPU)."""
    return pick_device(settings.STYLE_DEVICE)


def device_label() -> str:
    return describe(device())


def presets() -> PresetStylizer:
    from ml.style.presets import WEIGHTS, PresetStylizer

    here = device()
    # The key names the file without resolving it: a package lookup would cost ~0.2 ms per call.
    return models.get("presets", "/".join(WEIGHTS), here, lambda: PresetStylizer(device=here))


def arbitrary() -> ArbitraryStylizer:
    """The arbitrary-style engine: on CUDA when the worker is and onnxruntime can, else on the CPU
    (the pinned onnxruntime wheel is CPU-only; a GPU worker still runs these int8 graphs fine there)."""
    from ml.style.arbitrary import WEIGHTS, ArbitraryStylizer, onnx_device

    here = onnx_device(device())
    return models.get("arbitrary", WEIGHTS, here, lambda: ArbitraryStylizer(device=here))


def gatys_network(name: str, pooling: str = "max") -> LossNetwork:
    """A Gatys loss network, loaded once per worker. MobileNet-v2 always has its real weights.

    VGG19: real ImageNet weights, or MissingWeightsError naming the file to fetch.
    ``STYLE_GATYS_RANDOM_WEIGHTS`` (VGG19 only) exists for the test suite and demos on machines
    without the download; renders made that way are labelled in their device field.
    """
    from ml.style.networks import load_network, weights_file

    random_weights = name == "vgg19" and bool(settings.STYLE_GATYS_RANDOM_WEIGHTS)
    here = device()
    return models.get(
        f"gatys:{name}",
        weights_file(name),
        here,
        lambda: load_network(name, random_weights=random_weights, pooling=pooling, device=here),
        options=(pooling, random_weights),
    )


def gatys_available(network: str = DEFAULT_NETWORK) -> tuple[bool, str]:
    """Whether Gatys on ``network`` can run here, and a message (which may name a server path: staff only)."""
    from ml.style.networks import available

    if network == "vgg19" and settings.STYLE_GATYS_RANDOM_WEIGHTS:
        return True, "VGG19 runs with RANDOM weights (test/demo mode): results are not real style transfers."
    return available(network)


def fast_model(name: str | None) -> FastStylizer:
    """A trained style's network, read through media storage (the worker may share no disk with
    the web tier). Cached by storage name: checkpoint names are random and never rewritten."""
    if not name:
        raise ValueError("this style has no trained checkpoint")
    import io

    from django.core.files.storage import default_storage

    from ml.style.fast import FastStylizer

    def load() -> FastStylizer:
        with default_storage.open(name, "rb") as handle:
            data = io.BytesIO(handle.read())  # torch.load wants a seekable file; S3 streams are not
        return FastStylizer.from_checkpoint(data, device=here)

    here = device()
    return models.get("fast-style", name, here, load)


def warm_up() -> None:
    """Load the presets, the arbitrary-style network and every Gatys loss network this worker can run."""
    if device().type == "cuda":
        # Worker-wide policy, set once here rather than inside each render: TF32 matmuls/convs are
        # ~3× faster on Ampere+ and invisible in the result (fp16 overflows large Gram matrices).
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    presets()
    arbitrary()
    for name in NETWORKS:
        if gatys_available(name)[0]:
            gatys_network(name)
