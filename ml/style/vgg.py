"""VGG loss networks (torchvision's VGG19 / VGG16 ``features``) with named layers, run only as deep as needed.

Layer names follow the Caffe/Gatys convention: ``conv{block}_{n}``, ``relu{block}_{n}``, ``pool{block}``.
As in the paper's Caffe code, where ReLU is applied in place, the activation returned for a
``conv`` name is the *rectified* one, i.e. ``conv4_2`` and ``relu4_2`` give the same tensor.

Weights: ``vgg19-dcbabe56.pth`` / ``vgg16-397923af.pth`` (torchvision's IMAGENET1K_V1) through
:func:`ml.weights.find`, which raises :class:`ml.weights.MissingWeightsError` naming the file and the
fetch command. ``random_weights=True`` builds the same architecture with torchvision's random
initialisation: for tests, timing and demos only, never for real renders.
"""

from __future__ import annotations

import torch
from torch import nn

from ml.device import pick_device
from ml.weights import find

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
VGG19_FILE = "vgg19-dcbabe56.pth"
VGG16_FILE = "vgg16-397923af.pth"


def layer_names(features: nn.Sequential) -> list[str]:
    """Names for each module of a torchvision VGG ``features`` stack, in order."""
    names, block, conv = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:  # pragma: no cover - torchvision's VGG has nothing else in features
            names.append(type(module).__name__.lower())
    return names


class VGGFeatures(nn.Module):
    """ImageNet-normalising feature extractor over a (truncated) VGG ``features`` stack.

    ``forward(x (N, 3, H, W) float in [0, 1], layers) → {name: activation (N, C, h, w)}``. The
    stack is cut after the deepest layer ever requested (:meth:`truncate`), so deeper layers cost nothing.
    Weights are frozen (``requires_grad=False``); gradients flow to the input only.
    """

    # Registered as buffers in __init__ (so they follow .to(device)); declared for the type checker.
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, features: nn.Sequential, name: str) -> None:
        super().__init__()
        self.name = name
        # In-place ReLU would overwrite the conv outputs that losses hold on to; ours are out-of-place.
        modules = [nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m for m in features]
        self.features = nn.Sequential(*modules)
        self.names = layer_names(self.features)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    def index_of(self, layer: str) -> int:
        """Index of the module whose output is ``layer`` (``convX_Y`` maps to its ReLU, see module doc)."""
        if layer.startswith("conv"):
            layer = "relu" + layer[4:]
        if layer not in self.names:
            raise ValueError(f"{self.name} has no layer {layer!r}; known: {', '.join(self.names)}")
        return self.names.index(layer)

    def stride_of(self, layer: str) -> int:
        """Downsampling factor of ``layer``'s output (1 in block 1, 16 in block 5)."""
        return 2 ** sum(1 for name in self.names[: self.index_of(layer)] if name.startswith("pool"))

    def truncate(self, layers: list[str] | tuple[str, ...]) -> VGGFeatures:
        """Drop every module after the deepest of ``layers`` (in place); returns self."""
        deepest = max(self.index_of(layer) for layer in layers)
        if deepest + 1 < len(self.features):
            self.features = self.features[: deepest + 1]
            self.names = self.names[: deepest + 1]
        return self

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        wanted = {self.index_of(layer): layer for layer in layers}
        deepest = max(wanted)
        out: dict[str, torch.Tensor] = {}
        x = (x - self.mean) / self.std
        for index, module in enumerate(self.features):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
            if index == deepest:
                break
        # A layer may be requested under two names (conv4_2 and relu4_2): give both.
        return {layer: out[wanted[self.index_of(layer)]] for layer in layers}


def _build(arch: str, *, random_weights: bool, pooling: str, device: torch.device | str | None) -> VGGFeatures:
    from torchvision import models

    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
    # Look for the file before building the 140 M-parameter model, so a missing file fails fast.
    path = None if random_weights else find(VGG19_FILE if arch == "vgg19" else VGG16_FILE)
    model = getattr(models, arch)(weights=None)
    if path is not None:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    features = model.features
    if pooling == "avg":
        # Gatys et al. found average pooling gives slightly smoother results; weights are unchanged.
        features = nn.Sequential(*[nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in features])
    label = f"{arch}{' (RANDOM WEIGHTS)' if random_weights else ''}"
    return VGGFeatures(features, label).to(pick_device(device))


def load_vgg19(
    *, random_weights: bool = False, pooling: str = "max", device: torch.device | str | None = None
) -> VGGFeatures:
    """VGG19 features (ImageNet weights via :mod:`ml.weights`; raises MissingWeightsError when absent)."""
    return _build("vgg19", random_weights=random_weights, pooling=pooling, device=device)


def load_vgg16(
    *, random_weights: bool = False, pooling: str = "max", device: torch.device | str | None = None
) -> VGGFeatures:
    """VGG16 features for training fast networks (same weights policy as :func:`load_vgg19`)."""
    return _build("vgg16", random_weights=random_weights, pooling=pooling, device=device)
