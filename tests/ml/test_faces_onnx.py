"""The CPU fast path (onnxruntime, area-resampled pyramid) finds and embeds what the PyTorch path does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.faces.cascade import area_resize, summed_area_table
from ml.faces.detect import FaceDetector
from ml.faces.embedders import get_embedder
from ml.faces.onnx_nets import pytorch_only, runs_on_onnx
from ml.images import open_image

GROUP = ["facenet-pytorch__multiface.jpg", "CompreFace__016_8.jpg", "deepface__couple.jpg", "CompreFace__017_0.jpg"]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(device="cpu")


@pytest.fixture(scope="module")
def photos(testdata: Path) -> list[Image.Image]:
    images = [open_image(testdata / "faces_group" / name) for name in GROUP]
    images += [open_image(path) for path in sorted((testdata / "faces").glob("*/*.jpg"))[::25]]
    return images


def test_the_pytorch_only_switch_turns_onnxruntime_off_for_cpu_and_back_on():
    cpu = torch.device("cpu")
    assert runs_on_onnx(cpu) and not runs_on_onnx(torch.device("cuda"))
    with pytorch_only():
        assert not runs_on_onnx(cpu)
    assert runs_on_onnx(cpu)


def test_pyramid_levels_are_bit_equal_to_area_interpolation_of_a_real_photo(photos):
    pixels = np.asarray(photos[0])
    table = summed_area_table(pixels)
    batch = torch.from_numpy(pixels[None]).permute(0, 3, 1, 2).float()
    height, width = pixels.shape[:2]
    for scale in (0.6, 0.6 * 0.709**3, 0.6 * 0.709**9):
        size = (int(height * scale + 1), int(width * scale + 1))
        want = torch.nn.functional.interpolate(batch, size=size, mode="area")[0].permute(1, 2, 0).numpy()
        assert np.array_equal(area_resize(table, *size), want), size


def test_onnxruntime_detections_equal_the_pytorch_networks_on_real_photos(detector, photos):
    fast = detector.detect_batch(photos)
    with pytorch_only():
        reference = detector.detect_batch(photos)
    assert sum(len(faces) for faces in reference) >= 12  # the group photos' faces, not an empty comparison
    for got, want in zip(fast, reference, strict=True):
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert np.abs(np.subtract(a.box, b.box)).max() < 1e-2 and abs(a.score - b.score) < 1e-4
            assert np.abs(a.landmarks_array() - b.landmarks_array()).max() < 1e-2


@pytest.mark.parametrize("name", ["facenet-casia-webface", "dlib-resnet-v1"])
def test_onnxruntime_embeddings_equal_the_pytorch_network_on_real_faces(detector, photos, name):
    embedder = get_embedder(name, device="cpu")
    chips = [chip for photo in photos[:3] for chip in embedder.align(photo, detector.detect(photo))]
    assert len(chips) >= 8
    fast = embedder.embed_chips(chips)
    with pytorch_only():
        reference = embedder.embed_chips(chips)
    assert fast.shape == reference.shape == (len(chips), embedder.dim)
    assert np.abs(fast - reference).max() < 1e-4
    # not a trivially equal pair: the faces differ from one another
    assert (fast @ fast.T)[~np.eye(len(chips), dtype=bool)].min() < 0.9


def test_a_session_equals_its_module_and_does_not_keep_a_dropped_module_alive():
    import gc
    import weakref

    from ml.faces.onnx_nets import onnx_module

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.PReLU(4)).eval()
    batch = torch.rand(2, 3, 9, 9)
    with torch.inference_mode():
        assert torch.allclose(onnx_module(net)(batch), net(batch), atol=1e-5)
    gone = weakref.ref(net)
    del net
    gc.collect()
    assert gone() is None
