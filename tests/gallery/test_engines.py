"""The style engines run on settings.STYLE_DEVICE and keep each model once in ml.cache.models."""

from __future__ import annotations

from typing import Any

import torch

from gallery import engines


def devices_of(module: Any) -> set[torch.device]:
    return {t.device for t in (*module.parameters(), *module.buffers())}


def test_style_device_setting_reaches_the_loss_network(settings):
    settings.STYLE_DEVICE = "meta"  # a real device that is never the default: a dropped setting shows
    assert engines.device() == torch.device("meta")
    net = engines.gatys_network("mobilenet-v2")
    assert devices_of(net) == {torch.device("meta")}
    assert engines.gatys_network("mobilenet-v2") is net
    settings.STYLE_DEVICE = "cpu"
    on_cpu = engines.gatys_network("mobilenet-v2")
    assert on_cpu is not net and devices_of(on_cpu) == {torch.device("cpu")}


def test_auto_means_cuda_when_present(settings):
    settings.STYLE_DEVICE = "auto"
    assert (engines.device().type == "cuda") == torch.cuda.is_available()


def test_presets_follow_the_setting_and_load_once(settings):
    settings.STYLE_DEVICE = "meta"
    stylizer = engines.presets()
    assert stylizer.device == torch.device("meta") and stylizer.engine == "torch"
    assert engines.presets() is stylizer
    settings.STYLE_DEVICE = "cpu"
    assert engines.presets().device == torch.device("cpu") and engines.presets().engine == "onnxruntime"
