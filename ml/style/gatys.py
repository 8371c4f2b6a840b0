"""Gatys et al. (CVPR 2016) neural style transfer by optimisation on a pretrained CNN.

The image itself is optimised (L-BFGS or Adam) so that its activations in a loss network
(``params.network``: MobileNet-v2, offline, or VGG19) match the photo's on the content layers and
their Gram matrices match the style images' (blended by weight) on the style layers. Targets are computed once per level; the network runs only to the deepest layer
needed. Large outputs render coarse-to-fine within a memory budget (see :class:`GatysParams`).

Worker use::

    params = GatysParams.for_quality("standard")      # network="mobilenet-v2" by default
    net = load_network(params.network, device=device)  # once per process (vgg19: MissingWeightsError if absent)
    image = run_gatys(photo, [(starry, 1.0)], params, net=net,
                      on_progress=report, should_stop=job_was_cancelled, preview_every=50)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.checkpoint import checkpoint

from ml.device import pick_device
from ml.images import to_rgb
from ml.style import color
from ml.style.estimate import Estimate, estimate, level_cost
from ml.style.gatys_params import GatysParams
from ml.style.imaging import check_image, resize, scale_to, to_image, to_tensor
from ml.style.losses import content_loss, gram_matrix, style_loss, total_variation
from ml.style.networks import LossNetwork, load_network, network_name
from ml.style.upsample import guided_upsample
from ml.style.vgg import load_vgg19

__all__ = [
    "Cancelled",
    "Estimate",
    "GatysParams",
    "Objective",
    "Progress",
    "estimate",
    "load_network",
    "load_vgg19",
    "run_gatys",
]


@dataclass(frozen=True)
class Progress:
    """One optimisation step's report. Losses are the weighted terms of the total (floats)."""

    iteration: int  # 1-based, counted over all levels
    total: int  # planned iterations over all levels (early stopping may end sooner)
    level: int  # 0-based level index (coarse to fine)
    levels: int
    size: tuple[int, int]  # (width, height) of this level
    # Losses of the image entering this iteration (what the optimiser evaluated first).
    content_loss: float
    style_loss: float
    tv_loss: float
    loss: float
    elapsed: float  # seconds since run_gatys started
    preview: Image.Image | None = None  # set every ``preview_every`` iterations


class Cancelled(Exception):
    """``should_stop()`` returned true; ``partial`` is the image as it was (``None`` before the first step)."""

    def __init__(self, iteration: int, partial: Image.Image | None) -> None:
        super().__init__(f"Style transfer cancelled at iteration {iteration}.")
        self.iteration = iteration
        self.partial = partial


def _memory_budget(params: GatysParams, device: torch.device) -> int:
    if params.memory_budget is not None:
        return params.memory_budget
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.9)
    try:  # half the machine's RAM: workers share it with the web app and the database
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.5)
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _margin(params: GatysParams, net: LossNetwork, layers: list[str], height: int, width: int) -> int:
    """Reflect padding for this level: the network's margin, a multiple of the deepest stride, < the image."""
    step = max(net.stride_of(layer) for layer in layers)
    margin = min(params.spec.margin, min(height, width) - 1)
    return max(0, margin // step * step)


def _features(
    net: LossNetwork, x: torch.Tensor, layers: list[str], checkpointed: bool, margin: int
) -> dict[str, torch.Tensor]:
    if margin:
        x = F.pad(x, (margin, margin, margin, margin), mode="reflect")
    # Checkpointing recomputes activations during backward instead of storing them: ~1.5× time, ~⅓ of the memory.
    features = checkpoint(lambda inp: net(inp, layers), x, use_reentrant=False) if checkpointed else net(x, layers)
    if not margin:
        return features
    cropped = {}
    for name, f in features.items():
        m = margin // net.stride_of(name)
        cropped[name] = f[..., m : f.shape[-2] - m, m : f.shape[-1] - m]
    return cropped


class _Level:
    """Targets and loss for one resolution level; computed once, evaluated every iteration."""

    def __init__(
        self,
        net: LossNetwork,
        params: GatysParams,
        content: torch.Tensor,
        styles: list[tuple[torch.Tensor, float]],
        checkpointed: bool,
    ) -> None:
        self.net, self.params, self.checkpointed = net, params, checkpointed
        self.content_layers = list(params.content_layers)
        self.style_layers = list(params.style_layers)
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        self.layer_weights = params.layer_weights()
        self.margin = _margin(params, net, self.layers, *content.shape[-2:])
        with torch.no_grad():
            features = _features(net, content, self.content_layers, False, self.margin)
            self.content_targets = [features[name].detach() for name in self.content_layers]
            grams = [torch.zeros(1) for _ in self.style_layers]
            for style, weight in styles:  # several styles: the weighted mean of their Grams
                margin = _margin(params, net, self.style_layers, *style.shape[-2:])
                style_features = _features(net, style, self.style_layers, False, margin)
                for i, name in enumerate(self.style_layers):
                    grams[i] = grams[i].to(style.device) + weight * gram_matrix(style_features[name])
            self.style_targets = [g.detach() for g in grams]
        # Each term divided by its target's scale (networks whose layers differ in scale, see
        # NetworkSpec.normalize_losses); 1 otherwise. Constants: no gradient flows through them.
        normalize = params.spec.normalize_losses
        eps = 1e-12
        self.content_scale = [float(t.square().mean()) + eps if normalize else 1.0 for t in self.content_targets]
        self.style_scale = [float(g.square().mean()) + eps if normalize else 1.0 for g in self.style_targets]

    def losses(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = _features(self.net, x, self.layers, self.checkpointed, self.margin)
        # sum() of tensors is a tensor; typeshed adds "| Literal[0]" for an empty input, and
        # GatysParams refuses empty content_layers / style_layers.
        c = cast(
            torch.Tensor,
            sum(
                content_loss(features[n], t) / scale
                for n, t, scale in zip(self.content_layers, self.content_targets, self.content_scale, strict=True)
            ),
        )
        s = cast(
            torch.Tensor,
            sum(
                w * style_loss(features[n], t) / scale
                for n, t, w, scale in zip(
                    self.style_layers, self.style_targets, self.layer_weights, self.style_scale, strict=True
                )
            ),
        )
        p = self.params
        return p.content_weight * c / len(self.content_layers), p.style_weight * s, p.tv_weight * total_variation(x)


def _closure(
    optimizer: torch.optim.Optimizer, stage: _Level, x: torch.Tensor, first: dict[str, torch.Tensor]
) -> Callable[[], torch.Tensor]:
    """The loss-and-gradient function the optimiser calls (L-BFGS may call it several times per step)."""

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        image = x
        if stage.params.score_clamped:
            # Score the image as it will be returned (clamped to [0, 1]); the gradient passes
            # straight through, so pixels past a bound can still come back. Unscored, L-BFGS
            # drifts out of range and the returned image's loss rises again after ~100 iterations.
            image = x + (x.clamp(0, 1) - x).detach()
        c, s, tv = stage.losses(image)
        loss = c + s + tv
        loss.backward()
        if not first:  # the image entering this iteration; later calls are line-search trials
            first.update(c=c.detach(), s=s.detach(), tv=tv.detach(), loss=loss.detach())
        return loss

    return closure


def _prepare_styles(
    styles: list[tuple[Image.Image, float]], params: GatysParams, content: torch.Tensor, side: int, device: torch.device
) -> list[tuple[torch.Tensor, float]]:
    if not styles:
        raise ValueError("Give at least one style image.")
    total = sum(weight for _, weight in styles)
    if any(weight < 0 for _, weight in styles) or total <= 0:
        raise ValueError("Style weights must be non-negative and not all zero.")
    prepared = []
    for image, weight in styles:
        image = check_image(image)
        tensor = to_tensor(resize(image, scale_to(image.size, max(16, round(side * params.style_scale)))), device)
        if params.color == "histogram":
            tensor = color.match_color(tensor, content)
        elif params.color == "luminance":
            tensor = color.match_luminance(tensor, content)
        prepared.append((tensor, weight / total))
    return prepared


def _initial(params: GatysParams, content: torch.Tensor, styles: list[tuple[torch.Tensor, float]]) -> torch.Tensor:
    if params.init == "content":
        return content.clone()
    if params.init == "style":
        return F.interpolate(styles[0][0], size=content.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    generator = torch.Generator().manual_seed(params.seed)  # CPU generator: same noise on every device
    noise = torch.rand(content.shape, generator=generator).to(content.device)
    return noise


def _upsample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image, size=(size[1], size[0]), mode="bicubic", align_corners=False)


def run_gatys(
    content: Image.Image,
    styles: list[tuple[Image.Image, float]],
    params: GatysParams,
    *,
    net: LossNetwork | None = None,
    device: torch.device | str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    preview_every: int = 50,
) -> Image.Image:
    """Render ``content`` in the blended style of ``styles`` (``[(image, weight), ...]``); returns RGB.

    The output's longest side is ``params.size``. ``net``: the loaded loss network named by
    ``params.network`` (:func:`load_network`; reuse it across jobs); ``None`` loads it (VGG19 raises :class:`ml.weights.MissingWeightsError` if absent). ``on_progress`` is called after every iteration (with a preview image every
    ``preview_every`` iterations, 0 = never). ``should_stop`` is checked before every iteration;
    when it returns true :class:`Cancelled` is raised (with the partial image). Raises
    :class:`ml.images.ImageError` for unusable images and ``ValueError`` for bad options.
    """
    started = time.perf_counter()
    device = pick_device(str(device) if device is not None else None)
    content = check_image(content)
    if net is None:
        net = load_network(params.network, pooling=params.pooling, device=device)
    elif network_name(net) != params.network:
        raise ValueError(f"params are for {params.network} but the loaded network is {net.name}")
    net = net.to(device)
    # No process-wide switches here (seeding torch's global RNG, TF32): the caller owns those. The
    # only randomness, noise init, uses its own generator seeded from params.seed.

    sides, iterations = params.level_sizes(), params.level_iterations()
    budget = _memory_budget(params, device)
    plan: list[tuple[int, int, bool]] = []
    for side, count in zip(sides, iterations, strict=True):
        width, height = scale_to(content.size, side)
        _, peak = level_cost(params, width, height)
        if peak <= budget:
            plan.append((side, count, False))
        elif level_cost(params, width, height, checkpointing=True)[1] <= budget:
            plan.append((side, count, True))
        else:
            break  # this and finer levels do not fit: guided-upsample the last one that did
    if not plan:
        raise MemoryError(
            f"Even the coarsest level ({sides[0]} px) needs more than the memory budget of {budget / 2**20:.0f} MiB; "
            "choose a smaller size."
        )

    final_size = scale_to(content.size, params.size)
    total = sum(count for _, count, _ in plan)
    done = 0
    x: torch.Tensor | None = None
    previous_target = torch.zeros(0)
    content_tensor = to_tensor(content, device)

    def finish(image: torch.Tensor, level_content: torch.Tensor) -> torch.Tensor:
        image = image.detach().clamp(0, 1)
        if params.color == "luminance":
            image = color.keep_luminance(image, level_content)
        return image

    for level, (side, count, checkpointed) in enumerate(plan):
        size = scale_to(content.size, side)
        level_photo = to_tensor(resize(content, size), device)
        target_content = color.luminance(level_photo) if params.color == "luminance" else level_photo
        style_tensors = _prepare_styles(styles, params, level_photo, side, device)
        stage = _Level(net, params, target_content, style_tensors, checkpointed)
        if x is None:
            start = _initial(params, target_content, style_tensors)
        else:
            start = _upsample(x.detach(), size)
            if params.level_init == "detail":
                # Carry up what the coarse level changed, on top of this level's sharper photo: a
                # plain upscale is blurred, and the fine level spends its first iterations restoring
                # detail (this saves ~20 of them on MobileNet-v2, docs/benchmarks.md).
                start = target_content + start - _upsample(previous_target, size)
            start = start.clamp(0, 1)
        previous_target = target_content
        x = start.contiguous().requires_grad_(True)
        if params.optimizer == "lbfgs":
            optimizer: torch.optim.Optimizer = torch.optim.LBFGS(
                [x], lr=params.lr, max_iter=1, history_size=params.lbfgs_history, line_search_fn=params.line_search
            )
        else:
            optimizer = torch.optim.Adam([x], lr=params.lr)
        history: list[float] = []
        for _ in range(count):
            if should_stop is not None and should_stop():
                raise Cancelled(done, to_image(finish(x, level_photo)))
            first: dict[str, torch.Tensor] = {}
            # torch annotates the closure as returning float, but LBFGS/Adam call it for the loss
            # *tensor* (LBFGS runs float() on it itself), as torch's own docs show.
            optimizer.step(_closure(optimizer, stage, x, first))  # type: ignore[arg-type]
            if params.optimizer == "adam":
                with torch.no_grad():
                    x.clamp_(0, 1)  # L-BFGS is left unconstrained: clamping would corrupt its curvature pairs
            done += 1
            loss_value = float(first["loss"])
            if not math.isfinite(loss_value):
                raise FloatingPointError("The loss became NaN or infinite; lower the learning rate or style weight.")
            history.append(loss_value)
            if on_progress is not None:
                preview = None
                if preview_every and done % preview_every == 0:
                    preview = to_image(finish(x, level_photo))
                on_progress(
                    Progress(
                        iteration=done,
                        total=total,
                        level=level,
                        levels=len(plan),
                        size=size,
                        content_loss=float(first["c"]),
                        style_loss=float(first["s"]),
                        tv_loss=float(first["tv"]),
                        loss=loss_value,
                        elapsed=time.perf_counter() - started,
                        preview=preview,
                    )
                )
            patience = params.plateau_patience
            if params.plateau_tolerance > 0 and len(history) > patience:
                before = history[-patience - 1]
                if before - history[-1] < params.plateau_tolerance * abs(before):
                    break  # plateau: more iterations would not visibly change the image

    assert x is not None
    result = finish(x, to_tensor(resize(content, (x.shape[-1], x.shape[-2])), device))
    if (result.shape[-1], result.shape[-2]) != final_size:
        # The finest levels did not fit the memory budget: carry the last one to full size.
        high = to_tensor(resize(content, final_size), device)
        low_guide = F.interpolate(high, size=result.shape[-2:], mode="bicubic", align_corners=False, antialias=True)
        result = guided_upsample(result, low_guide.clamp(0, 1), high)
    del content_tensor
    return to_image(result)


class Objective:
    """The single-scale objective of ``params`` at the output size, for scoring finished images.

    Same targets, layers and weights as the finest level of :func:`run_gatys` at ``params.size``;
    the targets are computed once here. ``objective(image)`` resizes ``image`` to the output size if
    it differs (a coarse level's result) and returns ``{"content", "style", "tv", "loss"}``: the
    weighted terms and their sum. Lets schedules that reach the output size differently be compared
    on one loss.
    """

    def __init__(
        self,
        content: Image.Image,
        styles: list[tuple[Image.Image, float]],
        params: GatysParams,
        *,
        net: LossNetwork,
        device: torch.device | str | None = None,
    ) -> None:
        self.device = pick_device(str(device) if device is not None else None)
        self.luminance = params.color == "luminance"
        content = check_image(content)
        self.size = scale_to(content.size, params.size)
        photo = to_tensor(resize(content, self.size), self.device)
        target = color.luminance(photo) if self.luminance else photo
        prepared = _prepare_styles(styles, params, photo, params.size, self.device)
        self.stage = _Level(net.to(self.device), params, target, prepared, False)

    def __call__(self, image: Image.Image) -> dict[str, float]:
        x = to_tensor(resize(to_rgb(image), self.size), self.device)
        if self.luminance:
            x = color.luminance(x)
        with torch.no_grad():
            c, s, tv = self.stage.losses(x)
        return {"content": float(c), "style": float(s), "tv": float(tv), "loss": float(c + s + tv)}


def measure_throughput(
    net: LossNetwork, params: GatysParams, *, device: torch.device | str | None = None, side: int = 160
) -> float:
    """Effective FLOP/s of ``net`` for ``params`` (their layers and optimiser) on ``device``.

    Runs 4 real iterations on a ``side``-px synthetic image and times the last 3 (the first warms
    the kernels). Seconds on CPU; feed the result to :func:`estimate` as ``flops``.
    """
    from dataclasses import replace

    from ml.style.estimate import throughput_from_run

    generator = torch.Generator().manual_seed(0)
    pixels = (torch.rand(side * 3 // 4, side, 3, generator=generator) * 255).to(torch.uint8).numpy()
    content = Image.fromarray(pixels)
    probe = replace(params, size=side, iterations=4, levels=1, plateau_tolerance=0.0, memory_budget=None)
    marks: list[float] = []
    run_gatys(content, [(content, 1.0)], probe, net=net, device=device, on_progress=lambda p: marks.append(p.elapsed))
    return throughput_from_run(
        replace(probe, iterations=3), content.size, iterations_done=3, seconds=marks[-1] - marks[0]
    )
