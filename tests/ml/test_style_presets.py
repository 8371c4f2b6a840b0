"""The 26 presets: the native port equals onnxruntime on real photos, blends, strength, colour, thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.images import open_image
from ml.style import color
from ml.style.imaging import to_tensor
from ml.style.presets import PRESETS, PresetStylizer, contact_sheet, model_path, render_thumbnail, weight_vector


@pytest.fixture(scope="module")
def stylizer() -> PresetStylizer:
    return PresetStylizer(device="cpu")


@pytest.fixture(scope="module")
def photos(testdata: Path) -> list[Image.Image]:
    names = ["tubingen.jpg", "sailboat.jpg", "brad_pitt.jpg"]
    images = []
    for name in names:
        image = open_image(testdata / "style" / "content" / name)
        image.thumbnail((320, 320))
        images.append(image)
    return images


def _onnx(image: torch.Tensor, weights: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model_path(), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image.numpy(), "style_weights": weights.numpy()})[0]


@pytest.mark.parametrize("weights", [{0: 1.0}, {19: 1.0}, {3: 0.5, 12: 0.5}, {i: 1.0 for i in range(26)}])
def test_native_network_matches_onnxruntime_on_real_photos(stylizer, photos, weights):
    vector = weight_vector(weights)
    for photo in photos:
        x = to_tensor(photo)[..., : photo.height // 4 * 4, : photo.width // 4 * 4].contiguous()
        native = stylizer.stylize_tensor(x, vector).numpy()
        reference = _onnx(x, vector)
        assert native.shape == reference.shape
        assert np.abs(native - reference).max() < 1e-3
        assert native.std() > 0.05  # a real stylisation, not a flat image


def test_presets_have_stable_unique_ids_and_slugs():
    assert [p.id for p in PRESETS] == list(range(26))
    assert len({p.slug for p in PRESETS}) == 26
    assert all(p.slug and p.slug == p.slug.lower() and " " not in p.slug for p in PRESETS)


def test_output_keeps_size_for_sides_not_multiple_of_four(stylizer):
    image = Image.new("RGB", (67, 41), (120, 60, 30))
    assert stylizer.stylize(image, {2: 1.0}).size == (67, 41)


def test_max_side_downscales_but_never_upscales(stylizer, photos):
    assert max(stylizer.stylize(photos[0], {1: 1.0}, max_side=160).size) == 160
    assert stylizer.stylize(photos[0], {1: 1.0}, max_side=4000).size == photos[0].size


def test_blend_weights_move_the_output_between_two_presets(stylizer, photos):
    photo = photos[0]
    a = np.asarray(stylizer.stylize(photo, {3: 1.0}), dtype=np.float32)
    b = np.asarray(stylizer.stylize(photo, {19: 1.0}), dtype=np.float32)
    to_a, to_b = [], []
    for t in (0.25, 0.5, 0.75):
        mix = np.asarray(stylizer.stylize(photo, {3: 1 - t, 19: t}), dtype=np.float32)
        to_a.append(np.abs(mix - a).mean())
        to_b.append(np.abs(mix - b).mean())
    assert to_a == sorted(to_a) and to_b == sorted(to_b, reverse=True)
    assert to_a[0] > 1 and to_b[-1] > 1  # the blends are new images, not one of the two ends


def test_strength_zero_returns_the_photo_and_one_the_full_style(stylizer, photos):
    photo = photos[1]
    plain = np.asarray(photo, dtype=np.int16)
    assert np.abs(np.asarray(stylizer.stylize(photo, {5: 1.0}, strength=0.0), dtype=np.int16) - plain).max() <= 1
    full = np.asarray(stylizer.stylize(photo, {5: 1.0}), dtype=np.float32)
    half = np.asarray(stylizer.stylize(photo, {5: 1.0}, strength=0.5), dtype=np.float32)
    assert np.abs(half - (full + plain) / 2).max() <= 1.5


def test_preserve_color_keeps_the_photos_chroma_in_yuv(stylizer, photos):
    photo = photos[0]
    uv_photo = color.rgb_to_yuv(to_tensor(photo))[:, 1:]
    for preset in (3, 17):  # two strongly coloured presets
        styled = color.rgb_to_yuv(to_tensor(stylizer.stylize(photo, {preset: 1.0})))[:, 1:]
        kept = color.rgb_to_yuv(to_tensor(stylizer.stylize(photo, {preset: 1.0}, preserve_color=True)))[:, 1:]
        error_kept = (kept - uv_photo).abs().mean().item()
        error_styled = (styled - uv_photo).abs().mean().item()
        assert error_kept < 0.02 and error_kept < error_styled / 3


@pytest.mark.parametrize("weights", [{}, {26: 1.0}, {-1: 1.0}, {2: -0.5}, {2: 0.0}])
def test_it_rejects_bad_weights(stylizer, photos, weights):
    with pytest.raises(ValueError):
        stylizer.stylize(photos[0], weights)


def test_it_rejects_a_strength_outside_zero_to_one(stylizer, photos):
    with pytest.raises(ValueError, match="strength"):
        stylizer.stylize(photos[0], {0: 1.0}, strength=1.5)


def test_thumbnails_differ_per_preset_and_are_deterministic(stylizer):
    first = render_thumbnail(stylizer, 0, size=96)
    assert first.size == (96, 96)
    assert np.array_equal(np.asarray(first), np.asarray(render_thumbnail(stylizer, 0, size=96)))
    other = render_thumbnail(stylizer, 7, size=96)
    assert np.abs(np.asarray(first, dtype=np.int16) - np.asarray(other, dtype=np.int16)).mean() > 10


def test_contact_sheet_has_a_tile_per_preset(stylizer, photos):
    sheet = contact_sheet(stylizer, photos[2], tile=48, columns=9, render_side=96)
    tile_width = round(photos[2].width * 48 / photos[2].height)  # a portrait photo: tiles are 48 px high
    assert sheet.size == (9 * (tile_width + 6) + 6, 3 * (48 + 16 + 6) + 6)  # 27 tiles (original + 26) in 3 rows
