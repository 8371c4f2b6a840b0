"""The style engines a worker keeps warm: each loads once per process, on first use or at start-up."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings

from gallery import capacity
from ml.device import describe, pick_device
from ml.style.gatys_params import DEFAULT_NETWORK, NETWORKS


@functools.cache
def device():
    return pick_device()


def device_label() -> str:
    return describe(device())


_GATYS_RATE_KEY = "gallery:gatys-throughput:{network}"
_RATE_MEMORY = 0.5  # weight of the newest render in the running throughput figure


def gatys_throughput_record(network: str, flops: float, *, source: str) -> None:
    """Store the effective FLOP/s of ``network`` as this worker measured it (``source``: "render" or "probe").

    A real render's figure replaces a probe's; later renders are averaged in, so the estimate
    follows how busy the machine really is.
    """
    from django.core.cache import cache

    key = _GATYS_RATE_KEY.format(network=network)
    old = cache.get(key)
    if source == "probe" and old and old["source"] == "render":
        return
    if source == "render" and old and old["source"] == "render":
        flops = _RATE_MEMORY * flops + (1 - _RATE_MEMORY) * old["flops"]
        runs = old["runs"] + 1
    else:
        runs = 1 if source == "render" else 0
    cache.set(key, {"flops": flops, "source": source, "runs": runs, "device": device_label()}, timeout=None)
    # What the web tier reads: this worker's advertisement (gallery/capacity.py), refreshed with this figure.
    capacity.record_throughput(network, flops, source=source, runs=runs)


def gatys_throughput(network: str) -> dict[str, Any] | None:
    """What the style worker measured for ``network``: ``{"flops", "source", "runs", "device"}`` or ``None``."""
    from django.core.cache import cache

    value: dict[str, Any] | None = cache.get(_GATYS_RATE_KEY.format(network=network))
    return value


@functools.cache
def presets():
    from ml.style.presets import PresetStylizer

    return PresetStylizer(device=device())


@functools.cache
def arbitrary():
    from ml.style.arbitrary import ArbitraryStylizer

    return ArbitraryStylizer(device="cuda" if device().type == "cuda" else None)


@functools.cache
def gatys_network(name: str, pooling: str = "max"):
    """A Gatys loss network, loaded once per worker. MobileNet-v2 always has its real weights.

    VGG19: real ImageNet weights, or MissingWeightsError naming the file to fetch.
    ``STYLE_GATYS_RANDOM_WEIGHTS`` (VGG19 only) exists for the test suite and demos on machines
    without the download; renders made that way are labelled in their device field.
    """
    from ml.style.networks import load_network

    random_weights = name == "vgg19" and settings.STYLE_GATYS_RANDOM_WEIGHTS
    return load_network(name, random_weights=random_weights, pooling=pooling, device=device())


def gatys_available(network: str = DEFAULT_NETWORK) -> tuple[bool, str]:
    """Whether Gatys on ``network`` can run here, and a message (which may name a server path: staff only)."""
    from ml.style.networks import available

    if network == "vgg19" and settings.STYLE_GATYS_RANDOM_WEIGHTS:
        return True, "VGG19 runs with RANDOM weights (test/demo mode): results are not real style transfers."
    return available(network)


def gatys_networks(*, staff: bool) -> list[dict[str, Any]]:
    """Each loss network for the web page: name, label, availability and a message fit for this user.

    Ordinary users never see server paths or shell commands; staff get the exact missing file and
    how to fetch it.
    """
    rows = []
    for name, spec in NETWORKS.items():
        status = capacity.gatys_status(name)  # what the live workers say, not this web host's disk
        ok, message = status.ok, status.message
        if not ok and staff:
            here_ok, here_message = gatys_available(name)
            where = f"Start a worker with its weights on the queue {capacity.gatys_queue(name)!r}."
            message = f"{message} {where} {'' if here_ok else 'This host: ' + here_message}".strip()
        rows.append(
            {
                "name": name,
                "label": spec.label,
                "ok": ok,
                "message": message,
                "content_layers": ",".join(spec.content_layers),
                "style_layers": ",".join(spec.style_layers),
                "layers": ", ".join(spec.layers),
                "style_weight": f"{spec.style_weight:g}",
                "tv_weight": f"{spec.tv_weight:g}",
                "pooling": spec.has_pooling,
                "default": name == DEFAULT_NETWORK,
            }
        )
    return rows


@functools.cache
def fast_model(name: str):
    """A trained style's network, read through media storage (the worker may share no disk with
    the web tier). Cached by storage name: checkpoint names are random and never rewritten."""
    import io

    from django.core.files.storage import default_storage

    from ml.style.fast import FastStylizer

    with default_storage.open(name, "rb") as handle:
        data = io.BytesIO(handle.read())  # torch.load wants a seekable file; S3 streams are not
    return FastStylizer.from_checkpoint(data, device=device())


def warm_up() -> None:
    import torch

    from ml.style.gatys import GatysParams, measure_throughput

    if device().type == "cuda":
        # Worker-wide policy, set once here rather than inside each render: TF32 matmuls/convs are
        # ~3× faster on Ampere+ and invisible in the result (fp16 overflows large Gram matrices).
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    presets()
    arbitrary()
    for name in NETWORKS:
        if gatys_available(name)[0]:
            # A first throughput figure from a short real run of the network; replaced by the
            # figures of real renders as soon as there are any.
            params = GatysParams.for_quality("draft", network=name)
            flops = measure_throughput(gatys_network(name), params, device=device(), side=96)
            gatys_throughput_record(name, flops, source="probe")
