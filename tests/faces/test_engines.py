"""The face engines run on settings.FACES_DEVICE and keep each model once in ml.cache.models."""

from __future__ import annotations

from typing import Any

import torch

from faces import engines


def devices_of(module: Any) -> set[torch.device]:
    return {t.device for t in (*module.parameters(), *module.buffers())}


def test_faces_device_setting_reaches_the_detector_and_the_embedder(settings):
    settings.FACES_DEVICE = "meta"  # a real device that is never the default: a dropped setting shows
    detector = engines.detector()
    assert detector.device == torch.device("meta")
    assert all(devices_of(net) == {torch.device("meta")} for net in detector._nets)
    embedder = engines.embedder("dlib-resnet-v1")
    assert embedder.device == torch.device("meta")
    assert devices_of(embedder._net) == {torch.device("meta")}


def test_the_detector_is_built_once_per_device_and_cut_offs(settings):
    settings.FACES_DEVICE = "cpu"
    detector = engines.detector()
    assert engines.detector() is detector and detector.device == torch.device("cpu")
    settings.FACES_MIN_SCORE = 0.95
    stricter = engines.detector()
    assert stricter is not detector and stricter.min_score == 0.95
    settings.FACES_DEVICE = "meta"
    assert engines.detector().device == torch.device("meta")


def test_an_empty_faces_device_means_auto(settings):
    settings.FACES_DEVICE = ""
    from faces import conf

    assert conf.device() == "auto"
