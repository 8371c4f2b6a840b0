"""Options for Gatys style transfer, with quality presets per loss network. Plain data; no torch needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Optimizer = Literal["lbfgs", "adam"]
Init = Literal["content", "noise", "style"]
LevelInit = Literal["upsample", "detail"]
ColorMode = Literal["none", "luminance", "histogram"]
Network = Literal["mobilenet-v2", "vgg19"]

DEFAULT_NETWORK: Network = "mobilenet-v2"  # offline (weights ship in a package); vgg19 needs a download
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
QUALITIES = ("draft", "standard", "best")

_VGG19_CONVS = tuple(f"conv{b}_{i}" for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for i in range(1, n + 1))
_MOBILENET_RELU6 = (
    "Conv",
    "expanded_conv/depthwise",
    *(f"expanded_conv_{n}/{part}" for n in range(1, 17) for part in ("expand", "depthwise")),
    "Conv_1",
)
# Gatys on MobileNet-v2 (measured): ReLU6 outputs at 1/2, 1/2, 1/4, 1/8 and 1/16 resolution.
_MOBILENET_STYLE = (
    "Conv",
    "expanded_conv_1/expand",
    "expanded_conv_3/expand",
    "expanded_conv_6/expand",
    "expanded_conv_10/expand",
)

# The standard presets' schedule: levels doubling from 65–128 px up to the size (128, 256, 512 at
# 512 px; one level below 129 px, where VGG19's deepest layers would shrink to nothing), each with
# half the previous level's iterations, each starting from its photo plus what the coarser level
# changed. Measured (bench/gatys_time_to_quality.py, docs/benchmarks.md): on MobileNet-v2 a lower loss
# than the old (unclamped) 400 single-scale iterations in ~0.27× their time; even with clamped
# single-scale at equal time (ahead on one pair, behind on another), and 400 clamped single-scale
# iterations go lower. Kept for the larger structures the coarse levels lay out.
COARSE_TO_FINE: dict[str, object] = {"levels": None, "level_size": 128, "level_init": "detail"}


@dataclass(frozen=True)
class NetworkSpec:
    """What differs between loss networks: layer names, the paper-style defaults and the quality presets.

    ``style_depth``: the five style layers from shallow to deep (the paper's conv1 … conv5), used
    for "style depth" choices (the first k). ``layer_presets``: named (style layers, weights).
    ``normalize_losses``: divide each loss term by its target's scale (content MSE ÷ mean(target²),
    each Gram MSE ÷ mean(target Gram²)), which MobileNet-v2 needs because its ReLU6 layers differ in
    scale by orders of magnitude. ``margin``: pixels of reflect padding added to the image and
    cropped off every feature map again (MobileNet-v2's TF "SAME" stride-2 padding puts a band
    along the top/left edges otherwise).
    """

    name: Network
    label: str
    layers: tuple[str, ...]
    content_layers: tuple[str, ...]
    style_depth: tuple[str, ...]
    layer_presets: dict[str, tuple[tuple[str, ...], tuple[float, ...] | None]]
    content_weight: float
    style_weight: float
    tv_weight: float
    normalize_losses: bool
    margin: int
    has_pooling: bool
    qualities: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def style_layers(self) -> tuple[str, ...]:
        return self.style_depth


NETWORKS: dict[str, NetworkSpec] = {
    "vgg19": NetworkSpec(
        name="vgg19",
        label="VGG19 (ImageNet; best quality, slow on CPU)",
        layers=_VGG19_CONVS + tuple(n.replace("conv", "relu") for n in _VGG19_CONVS),
        content_layers=("conv4_2",),
        style_depth=DEFAULT_STYLE_LAYERS,
        layer_presets={
            "gatys": (DEFAULT_STYLE_LAYERS, None),
            "fine": (("conv1_1", "conv2_1", "conv3_1"), None),
            "coarse": (("conv3_1", "conv4_1", "conv5_1"), None),
            "deep-weighted": (DEFAULT_STYLE_LAYERS, (0.5, 1.0, 2.0, 3.0, 3.0)),
        },
        content_weight=1.0,
        style_weight=1e6,
        tv_weight=1.0,
        normalize_losses=False,
        margin=0,
        has_pooling=True,
        qualities={
            "draft": {"size": 384, "iterations": 150, "plateau_tolerance": 1e-3, "plateau_patience": 15},
            "standard": {"size": 512, "iterations": 200, "plateau_tolerance": 2e-4, **COARSE_TO_FINE},
            "best": {"size": 1024, "iterations": 800, "levels": None, "pooling": "avg", "plateau_tolerance": 5e-5},
        },
    ),
    "mobilenet-v2": NetworkSpec(
        name="mobilenet-v2",
        label="MobileNet-v2 (offline, ~10× faster than VGG19)",
        layers=_MOBILENET_RELU6,
        content_layers=("expanded_conv_10/expand",),
        style_depth=_MOBILENET_STYLE,
        layer_presets={
            "gatys": (
                _MOBILENET_STYLE,
                None,
            ),
            "fine": (("Conv", "expanded_conv_1/expand", "expanded_conv_3/expand"), None),
            "coarse": (("expanded_conv_3/expand", "expanded_conv_6/expand", "expanded_conv_10/expand"), None),
            "deep-weighted": (
                _MOBILENET_STYLE,
                (0.5, 1.0, 2.0, 3.0, 3.0),
            ),
        },
        content_weight=1.0,
        style_weight=1e3,
        tv_weight=0.01,
        normalize_losses=True,
        margin=32,
        has_pooling=False,
        # Measured on 2 busy cores: ~0.25 s per iteration at 384×288, so a draft takes about a minute.
        qualities={
            "draft": {"size": 384, "iterations": 100, "lbfgs_history": 50},
            "standard": {
                "size": 512,
                "iterations": 200,
                "lbfgs_history": 50,
                "plateau_tolerance": 2e-4,
                **COARSE_TO_FINE,
            },
            "best": {"size": 1024, "iterations": 300, "levels": None, "lbfgs_history": 50, "plateau_tolerance": 5e-5},
        },
    ),
}


def network_spec(name: str) -> NetworkSpec:
    if name not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {name!r}")
    return NETWORKS[name]


@dataclass(frozen=True)
class GatysParams:
    """Everything that shapes a Gatys render (Gatys, Ecker, Bethge, CVPR 2016, and the 2017 follow-up).

    ``network``: the loss network (:data:`NETWORKS`). The plain constructor has VGG19's defaults;
    :meth:`for_network` / :meth:`for_quality` give any network's own layers, weights and presets.

    Losses: ``content_weight`` (α) × content MSE on ``content_layers`` + ``style_weight`` (β) × Σ
    layer weight × Gram MSE on ``style_layers`` (Grams normalised by C·H·W) + ``tv_weight`` ×
    total variation of the image (pixels in ``[0, 1]``). Only the ratio α/β matters for the
    balance (:attr:`ratio`); the defaults (1 : 1e6) suit these normalisations.

    Sizes: ``size`` is the output's longest side. ``levels`` > 1 renders coarse-to-fine (each level
    doubles the size, starting from ``size / 2^(levels-1)``, initialised from the previous level);
    ``None`` picks enough levels that the first is at most ``level_size`` px. Later levels get half
    the previous level's iterations. ``level_init``: a finer level starts from the coarser result
    scaled up (``"upsample"``, blurred) or from this level's photo plus what the coarser level changed
    (``"detail"``, keeps the photo's fine detail). ``memory_budget`` (bytes, ``None`` = automatic) bounds the peak:
    a level that would exceed it runs with gradient checkpointing, and if even that is too much the
    render stops at the previous level and is carried to full size by guided upsampling.

    ``color``: ``"luminance"`` transfers luminance only and keeps the photo's colours;
    ``"histogram"`` recolours the style images to the photo's colour statistics first.
    ``style_scale`` resizes the style images relative to the output (bigger → larger brush strokes).

    Early stop: after ``plateau_patience`` iterations, the render stops when the loss improved by
    less than ``plateau_tolerance`` (relative) over the last ``plateau_patience`` iterations; 0 disables.
    ``score_clamped`` (on by default): compute the losses on the image clamped to [0, 1] (what is
    returned), with a straight-through gradient; unclamped, L-BFGS drifts out of range and the
    returned image scores 25–40 % worse (more after ~100 iterations, when it starts to get worse
    again). The standard presets use ``level_size=128`` and ``"detail"`` (:data:`COARSE_TO_FINE`);
    ``levels=1`` gives the single-scale render.
    ``seed`` makes CPU runs bit-for-bit reproducible (noise init and any randomness).
    """

    network: Network = "vgg19"
    size: int = 512
    iterations: int = 400
    optimizer: Optimizer = "lbfgs"
    learning_rate: float | None = None  # None: 1.0 for L-BFGS (step scale), 0.02 for Adam (pixels in [0, 1])
    content_layers: tuple[str, ...] = ("conv4_2",)
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None  # None: equal, summing to 1
    content_weight: float = 1.0
    style_weight: float = 1e6
    tv_weight: float = 1.0
    init: Init = "content"
    level_init: LevelInit = "upsample"
    score_clamped: bool = True
    pooling: Literal["max", "avg"] = "max"
    color: ColorMode = "none"
    style_scale: float = 1.0
    levels: int | None = 1
    level_size: int = 512
    memory_budget: int | None = None
    plateau_tolerance: float = 0.0
    plateau_patience: int = 25
    lbfgs_history: int = 100
    # None = fixed unit steps like jcjohnson/neural-style (one VGG evaluation per iteration);
    # "strong_wolfe" guarantees descent but costs 1-25 evaluations per iteration.
    line_search: Literal["strong_wolfe"] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ValueError(f"size must be at least 16 px, got {self.size}")
        if self.iterations < 1:
            raise ValueError("iterations must be at least 1")
        if self.optimizer not in ("lbfgs", "adam"):
            raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.init not in ("content", "noise", "style"):
            raise ValueError(f"init must be content, noise or style, got {self.init!r}")
        if self.level_init not in ("upsample", "detail"):
            raise ValueError(f"level_init must be upsample or detail, got {self.level_init!r}")
        if self.color not in ("none", "luminance", "histogram"):
            raise ValueError(f"color must be none, luminance or histogram, got {self.color!r}")
        spec = network_spec(self.network)
        if not self.content_layers or not self.style_layers:
            raise ValueError("at least one content layer and one style layer are needed")
        unknown = [name for name in self.content_layers + self.style_layers if name not in spec.layers]
        if unknown:
            raise ValueError(
                f"{self.network} has no layer(s) {', '.join(unknown)}; its layers are: {', '.join(spec.layers)}"
            )
        if self.pooling != "max" and not spec.has_pooling:
            raise ValueError(f"{self.network} has no pooling layers; pooling applies to vgg19 only")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(self.style_layers):
            raise ValueError("style_layer_weights needs one weight per style layer")
        if min(self.content_weight, self.style_weight, self.tv_weight) < 0:
            raise ValueError("loss weights must not be negative")
        if not 0.05 <= self.style_scale <= 4.0:
            raise ValueError("style_scale must be between 0.05 and 4")
        if self.levels is not None and self.levels < 1:
            raise ValueError("levels must be at least 1 (or None for automatic)")

    @property
    def ratio(self) -> float:
        """α/β, the content-to-style ratio of the paper (its figures use 1e-3 ... 1e-4 with their normalisation)."""
        return self.content_weight / self.style_weight if self.style_weight else float("inf")

    def layer_weights(self) -> tuple[float, ...]:
        """Per-style-layer weights, normalised to sum 1."""
        weights = self.style_layer_weights or tuple(1.0 for _ in self.style_layers)
        total = sum(weights)
        if total <= 0:
            raise ValueError("style layer weights must not all be zero")
        return tuple(w / total for w in weights)

    @property
    def lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else (1.0 if self.optimizer == "lbfgs" else 0.02)

    def level_sizes(self) -> list[int]:
        """Longest side per level, coarse to fine, e.g. ``[512, 1024, 2048]`` for size 2048 and level_size 512."""
        levels = self.levels
        if levels is None:
            levels = 1
            while self.size / 2 ** (levels - 1) > self.level_size:
                levels += 1
        return [max(16, round(self.size / 2 ** (levels - 1 - i))) for i in range(levels)]

    def level_iterations(self) -> list[int]:
        """Iterations per level: the coarsest gets ``iterations``, each finer level half the previous (≥ 1)."""
        return [max(1, self.iterations // 2**i) for i in range(len(self.level_sizes()))]

    @property
    def spec(self) -> NetworkSpec:
        return network_spec(self.network)

    @classmethod
    def for_network(cls, network: str = DEFAULT_NETWORK, **overrides: object) -> GatysParams:
        """``network``'s own layers and loss weights, then ``overrides``; ``layer_preset`` picks a named style-layer set."""
        spec = network_spec(network)
        preset = overrides.pop("layer_preset", None)
        defaults: dict[str, object] = {
            "network": network,
            "content_layers": spec.content_layers,
            "style_layers": spec.style_layers,
            "content_weight": spec.content_weight,
            "style_weight": spec.style_weight,
            "tv_weight": spec.tv_weight,
        }
        if preset is not None:
            if preset not in spec.layer_presets:
                raise ValueError(f"layer_preset must be one of {', '.join(spec.layer_presets)}, got {preset!r}")
            layers, weights = spec.layer_presets[str(preset)]
            defaults.update(style_layers=layers, style_layer_weights=weights)
        return cls(**{**defaults, **overrides})  # type: ignore[arg-type]

    @classmethod
    def for_quality(cls, quality: str, network: str = DEFAULT_NETWORK, **overrides: object) -> GatysParams:
        """Preset options of ``network``: ``"draft"`` (about a minute on a CPU with mobilenet-v2),
        ``"standard"`` or ``"best"`` (coarse-to-fine to 1024 px)."""
        spec = network_spec(network)
        if quality not in spec.qualities:
            raise ValueError(f"quality must be one of {', '.join(spec.qualities)}, got {quality!r}")
        return cls.for_network(network, **{**spec.qualities[quality], **overrides})
