"""The style engines a worker keeps warm: each loads once per process, on first use or at start-up."""

from __future__ import annotations

import functools

from django.conf import settings
from redis.exceptions import RedisError

from ml.device import describe, pick_device


@functools.cache
def device():  # type: ignore[no-untyped-def]
    return pick_device()


def device_label() -> str:
    return describe(device())


_WORKER_DEVICE_KEY = "gallery:style-worker-device"


def publish_worker_device() -> None:
    """Tell web processes what this worker runs on, so their Gatys estimates are for this device."""
    from django.core.cache import cache

    from ml.style.estimate import device_flops

    cache.set(_WORKER_DEVICE_KEY, {"label": device_label(), "flops": device_flops(str(device()))}, timeout=None)


def worker_device() -> tuple[str, float | None]:
    """``(label, conv FLOP/s)`` of the style worker as it published them; this process's own device otherwise."""
    from django.core.cache import cache

    try:
        published = cache.get(_WORKER_DEVICE_KEY)
    except RedisError:  # Redis down: estimate for this process's device rather than fail the request
        published = None
    if published:
        return published["label"], published["flops"]
    return device_label(), None


@functools.cache
def presets():  # type: ignore[no-untyped-def]
    from ml.style.presets import PresetStylizer

    return PresetStylizer(device=device())


@functools.cache
def arbitrary():  # type: ignore[no-untyped-def]
    from ml.style.arbitrary import ArbitraryStylizer

    return ArbitraryStylizer(device="cuda" if device().type == "cuda" else None)


@functools.cache
def vgg19(pooling: str = "max"):  # type: ignore[no-untyped-def]
    """VGG19 for Gatys. Real ImageNet weights, or MissingWeightsError naming the file to fetch.

    ``STYLE_GATYS_RANDOM_WEIGHTS`` exists only for the test suite and demos on machines without
    the weights; renders made that way are labelled in their device field.
    """
    from ml.style.vgg import load_vgg19

    return load_vgg19(random_weights=settings.STYLE_GATYS_RANDOM_WEIGHTS, pooling=pooling, device=device())


def gatys_available() -> tuple[bool, str]:
    """Whether Gatys can run here, and if not, the message to show."""
    from ml.weights import MissingWeightsError, find

    if settings.STYLE_GATYS_RANDOM_WEIGHTS:
        return True, "VGG19 runs with RANDOM weights (test/demo mode): results are not real style transfers."
    try:
        find("vgg19-dcbabe56.pth")
    except MissingWeightsError as exc:
        return False, str(exc)
    return True, ""


@functools.cache
def fast_model(name: str):  # type: ignore[no-untyped-def]
    """A trained style's network, read through media storage (the worker may share no disk with
    the web tier). Cached by storage name: checkpoint names are random and never rewritten."""
    import io

    from django.core.files.storage import default_storage

    from ml.style.fast import FastStylizer

    with default_storage.open(name, "rb") as handle:
        data = io.BytesIO(handle.read())  # torch.load wants a seekable file; S3 streams are not
    return FastStylizer.from_checkpoint(data, device=device())


def warm_up() -> None:
    publish_worker_device()
    presets()
    arbitrary()
    if gatys_available()[0]:
        vgg19()
