"""Pre-flight cost model for Gatys renders: seconds and peak memory before anything runs.

Callers (the web worker) use :func:`estimate` to refuse or downscale a job up front instead of
crashing out of memory half-way, the most common complaint about Gatys implementations.
The model is analytic (the loss network's layer shapes: FLOPs and activation bytes) times a
throughput. That throughput is best *measured per network on the worker* from real renders
(:func:`throughput_from_run`) or a short real run of the network
(:func:`ml.style.gatys.measure_throughput`): depthwise MobileNet convs and VGG's dense 3×3 convs
reach very different FLOP/s. :func:`device_flops` (one timed convolution) is the fallback.
``bench/style_bench.py`` prints estimate against measurement.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ml.style.gatys_params import GatysParams
from ml.style.imaging import scale_to

# VGG19 features: channels per conv, "M" = pool. Names follow ml.style.vgg.
_VGG19: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip
# Effective Gatys FLOP/s of each network relative to device_flops' dense 3×3 conv, measured on
# this project's CPU machines (bench/style_bench.py): depthwise convs and the many small layers of
# MobileNet-v2 reach a tenth of the dense rate. Used only until a worker has measured the network.
_FALLBACK_EFFICIENCY = {"vgg19": 1.0, "mobilenet-v2": 0.1}
_LBFGS_EVALS_PER_ITERATION = 1.25  # strong-Wolfe line search: mostly 1 evaluation, sometimes 2-3


@dataclass(frozen=True)
class Estimate:
    """Predicted cost of a render: wall-clock ``seconds`` and ``peak_bytes`` of device (or host) memory."""

    seconds: float
    peak_bytes: int

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


def _vgg_shapes(width: int, height: int, layers: list[str]) -> list[tuple[int, int, int, int, int]]:
    """``(kernel², cin per group, cout, h, w)`` of every VGG19 conv up to the deepest of ``layers``."""
    deepest = max(layers, key=lambda name: (int(name[4]), int(name.split("_")[1])))
    target = deepest.replace("relu", "conv")
    shapes, block, conv, channels, h, w = [], 1, 0, 3, height, width
    for item in _VGG19:
        if item == "M":
            block, conv, h, w = block + 1, 0, h // 2, w // 2
            continue
        conv += 1
        shapes.append((9, channels, int(item), h, w))
        channels = int(item)
        if f"conv{block}_{conv}" == target:
            break
    return shapes


def _mobilenet_shapes(width: int, height: int, layers: list[str], margin: int) -> list[tuple[int, int, int, int, int]]:
    """The same for MobileNet-v2 units up to the deepest of ``layers``, on the reflect-padded image."""
    from ml.style.mobilenet import UNITS

    names = [u.scope for u in UNITS]
    deepest = max(names.index(layer) for layer in layers)
    shapes, h, w = [], height + 2 * margin, width + 2 * margin
    for unit in UNITS[: deepest + 1]:
        h, w = -(-h // unit.stride), -(-w // unit.stride)
        shapes.append((unit.kernel**2, unit.cin // unit.groups, unit.cout, h, w))
    return shapes


def _layer_shapes(params: GatysParams, width: int, height: int) -> list[tuple[int, int, int, int, int]]:
    layers = list(params.content_layers) + list(params.style_layers)
    if params.network == "vgg19":
        return _vgg_shapes(width, height, layers)
    return _mobilenet_shapes(width, height, layers, params.spec.margin)


def level_cost(params: GatysParams, width: int, height: int, *, checkpointing: bool = False) -> tuple[float, int]:
    """``(forward+backward FLOPs per evaluation, peak bytes)`` for one level at ``width``×``height``."""
    shapes = _layer_shapes(params, width, height)
    flops = sum(2 * k * cin * cout * h * w for k, cin, cout, h, w in shapes)
    # Kept for backward per conv: its output and the activation's output (float32), plus pads/pools.
    activation_bytes = sum(2 * 4 * cout * h * w for _, _, cout, h, w in shapes)
    largest = max(4 * cout * h * w for _, _, cout, h, w in shapes)
    if checkpointing:
        # Only block boundaries are kept; one block is recomputed at a time during backward.
        activation_bytes = activation_bytes // 3 + 4 * largest
        flops = int(flops * 1.5)
    image_bytes = 4 * 3 * width * height
    history = params.lbfgs_history * 2 * image_bytes if params.optimizer == "lbfgs" else 3 * image_bytes
    weights = sum(4 * k * cin * cout for k, cin, cout, _, _ in shapes)
    # backward transients: about two of the largest activations live at once
    peak = activation_bytes + 2 * largest + history + weights + 8 * image_bytes
    # input-gradient backward costs about one forward (no weight gradients are needed)
    return 2.0 * flops, int(peak * 1.15)


@functools.cache  # a measured number, not a model: no entry in ml.cache.models
def device_flops(device_name: str) -> float:
    """Sustained conv FLOP/s of ``device_name``, measured once per process (a 3×3 conv at 64 channels, ~0.2 s)."""
    device = torch.device(device_name)
    x = torch.randn(1, 64, 128, 128, device=device)
    weight = torch.randn(64, 64, 3, 3, device=device)
    with torch.inference_mode():
        F.conv2d(x, weight, padding=1)  # warm-up (oneDNN/cuDNN algorithm choice)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        runs, start = 0, time.perf_counter()
        while runs < 3 or time.perf_counter() - start < 0.1:
            F.conv2d(x, weight, padding=1)
            runs += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = (time.perf_counter() - start) / runs
    return 2 * 9 * 64 * 64 * 128 * 128 / seconds


def rough_throughput(network: str, device: torch.device | str = "cpu") -> float:
    """Effective FLOP/s of ``network`` guessed from one dense convolution on ``device`` (~0.2 s):
    the figure to use before anything of the network itself has been measured."""
    return device_flops(str(torch.device(device))) * _FALLBACK_EFFICIENCY[network]


def estimate(
    params: GatysParams,
    content_size: tuple[int, int],
    device: torch.device | str = "cpu",
    *,
    flops: float | None = None,
) -> Estimate:
    """Predict seconds and peak bytes of :func:`ml.style.gatys.run_gatys` for a photo of ``content_size`` (w, h).

    Uses the same level plan and iterations as the render (early stopping is ignored, so seconds
    are an upper bound). Accuracy is roughly ±50% for time and ±30% for memory on CPU. ``flops``:
    the effective throughput of ``params.network`` on the device that will run it (FLOP/s as
    :func:`throughput_from_run` measures it, e.g. published by a worker); ``None`` times one
    convolution on ``device`` here (rough).
    """
    throughput = flops or rough_throughput(params.network, device)
    evals = _LBFGS_EVALS_PER_ITERATION if params.optimizer == "lbfgs" else 1.0
    seconds, peak = 0.0, 0
    for side, iterations in zip(params.level_sizes(), params.level_iterations(), strict=True):
        width, height = scale_to(content_size, side)
        flops, level_peak = level_cost(params, width, height)
        seconds += flops * evals * iterations / throughput
        peak = max(peak, level_peak)
    return Estimate(seconds=seconds, peak_bytes=peak)


def planned_flops(params: GatysParams, content_size: tuple[int, int]) -> float:
    """Total FLOPs the render plans (all levels, all iterations, L-BFGS evaluations included)."""
    evals = _LBFGS_EVALS_PER_ITERATION if params.optimizer == "lbfgs" else 1.0
    total = 0.0
    for side, iterations in zip(params.level_sizes(), params.level_iterations(), strict=True):
        width, height = scale_to(content_size, side)
        total += level_cost(params, width, height)[0] * evals * iterations
    return total


def throughput_from_run(
    params: GatysParams, content_size: tuple[int, int], *, iterations_done: int, seconds: float
) -> float:
    """Effective FLOP/s of a finished (or early-stopped) render: the figure :func:`estimate` takes as ``flops``."""
    planned_iterations = sum(params.level_iterations())
    fraction = min(1.0, iterations_done / max(planned_iterations, 1))
    return planned_flops(params, content_size) * fraction / max(seconds, 1e-6)
