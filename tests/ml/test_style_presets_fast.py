"""The CPU fast path of the presets (onnxruntime, our graph) equals the PyTorch module on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.images import open_image
from ml.style.imaging import to_image, to_tensor
from ml.style.multistyle_onnx import build_model, space_to_depth_kernel, upsample_kernel
from ml.style.presets import PresetStylizer, weight_vector


@pytest.fixture(scope="module")
def fast() -> PresetStylizer:
    return PresetStylizer(device="cpu")


@pytest.fixture(scope="module")
def reference() -> PresetStylizer:
    return PresetStylizer(device="cpu", engine="torch")


@pytest.fixture(scope="module")
def photos(testdata: Path) -> list[Image.Image]:
    images = []
    # Odd sizes on purpose: the graph pads to multiples of 4 and crops back itself.
    for name, side in [("tubingen.jpg", 333), ("sailboat.jpg", 290), ("brad_pitt.jpg", 257)]:
        image = open_image(testdata / "style" / "content" / name)
        image.thumbnail((side, side))
        images.append(image)
    return images


def test_the_cpu_stylizer_uses_onnxruntime_and_cuda_would_use_torch(fast, reference):
    assert fast.engine == "onnxruntime" and fast.fast is not None
    assert reference.engine == "torch" and reference.fast is None
    with pytest.raises(ValueError, match="CPU only"):
        PresetStylizer(device="meta", engine="onnxruntime")


@pytest.mark.parametrize("weights", [{0: 1.0}, {19: 1.0}, {3: 0.5, 12: 0.5}, {i: 1.0 for i in range(26)}])
def test_fast_path_equals_the_pytorch_module_on_real_photos(fast, reference, photos, weights):
    vector = weight_vector(weights)
    for photo in photos:
        assert photo.width % 4 or photo.height % 4  # the padding path is exercised
        expected = reference.stylize_tensor(to_tensor(photo), vector).numpy()
        got = fast.fast.run(np.asarray(photo), vector.numpy())
        assert got.shape == expected.shape == (1, 3, photo.height, photo.width)
        assert np.abs(got - expected).max() < 1e-3
        assert got.std() > 0.05  # a real stylisation, not a flat image


def test_fast_images_equal_the_reference_images_to_one_level(fast, reference, photos):
    photo = photos[0]
    for options in [{}, {"strength": 0.6}, {"preserve_color": True}, {"strength": 0.8, "preserve_color": True}]:
        got = np.asarray(fast.stylize(photo, {3: 0.7, 19: 0.3}, **options), dtype=np.int16)
        want = np.asarray(reference.stylize(photo, {3: 0.7, 19: 0.3}, **options), dtype=np.int16)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1
        assert (got != want).mean() < 0.01  # rounding ties only


@pytest.mark.parametrize("flags", [{"subpixel": False, "space_to_depth": False}, {"subpixel": True}, {}])
def test_each_graph_rewrite_computes_the_same_network(reference, photos, flags):
    import onnxruntime as ort

    vector = weight_vector({7: 1.0})
    photo = photos[1]
    session = ort.InferenceSession(build_model(reference.net, **flags).SerializeToString())
    got = session.run(None, {"pixels": np.asarray(photo), "style_weights": vector.numpy()})[0]
    assert np.abs(got - reference.stylize_tensor(to_tensor(photo), vector).numpy()).max() < 1e-3


def test_the_pixel_output_rounds_like_to_image(reference, photos):
    import onnxruntime as ort

    vector = weight_vector({11: 1.0})
    photo = photos[2]
    floats = ort.InferenceSession(build_model(reference.net).SerializeToString())
    pixels = ort.InferenceSession(build_model(reference.net, pixels_out=True).SerializeToString())
    feed = {"pixels": np.asarray(photo), "style_weights": vector.numpy()}
    out = pixels.run(None, feed)[0]
    assert out.dtype == np.uint8 and out.shape == (photo.height, photo.width, 3)
    assert np.array_equal(out, np.asarray(to_image(torch.from_numpy(floats.run(None, feed)[0]))))


def test_sub_pixel_kernel_equals_nearest_upsampling_then_reflect_conv():
    rng = torch.Generator().manual_seed(0)
    x, weight = torch.rand(1, 5, 7, 6, generator=rng), torch.randn(4, 5, 3, 3, generator=rng)
    up = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
    want = torch.nn.functional.conv2d(torch.nn.functional.pad(up, (1, 1, 1, 1), mode="reflect"), weight)
    phases = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), torch.from_numpy(upsample_kernel(weight.numpy()))
    )
    got = torch.nn.functional.pixel_shuffle(
        phases.reshape(1, 2, 2, 4, 7, 6).permute(0, 3, 1, 2, 4, 5).reshape(1, 16, 7, 6), 2
    )
    assert torch.allclose(got, want, atol=1e-5)


def test_space_to_depth_kernel_equals_the_full_size_convolution():
    rng = torch.Generator().manual_seed(1)
    x, weight = torch.rand(1, 4, 12, 10, generator=rng), torch.randn(3, 4, 9, 9, generator=rng)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    want = torch.nn.functional.conv2d(padded, weight)
    # SpaceToDepth order: channel (2·ph + pw)·C + c
    s2d = padded.reshape(1, 4, 10, 2, 9, 2).permute(0, 3, 5, 1, 2, 4).reshape(1, 16, 10, 9)
    phases = torch.nn.functional.conv2d(s2d, torch.from_numpy(space_to_depth_kernel(weight.numpy())))
    got = phases.reshape(1, 2, 2, 3, 6, 5).permute(0, 3, 4, 1, 5, 2).reshape(1, 3, 12, 10)  # DepthToSpace DCR
    assert torch.allclose(got, want, atol=1e-4)
