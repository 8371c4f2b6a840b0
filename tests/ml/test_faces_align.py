"""Alignment: the similarity transform, the templates, and agreement with dlib's own face chips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.faces.align import TEMPLATES, align_face, crop_face_box, crop_thumbnail, similarity_transform
from ml.faces.detect import FaceDetector
from ml.images import open_image


def _rotation(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array(
        [[scale * np.cos(a), -scale * np.sin(a), shift[0]], [scale * np.sin(a), scale * np.cos(a), shift[1]]]
    )


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(5, 2))
    truth = _rotation(23.0, 1.7, (12.0, -4.0))
    dst = src @ truth[:, :2].T + truth[:, 2]
    assert np.allclose(similarity_transform(src, dst), truth, atol=1e-9)


def test_similarity_transform_never_mirrors():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.2]])
    mirrored = src * [-1.0, 1.0]
    matrix = similarity_transform(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_aligned_chip_puts_landmarks_on_the_template():
    # Draw five dots at template positions in a rotated, scaled frame, then align them back.
    size = 150
    template = TEMPLATES["dlib"].in_chip(size)
    forward = _rotation(-30.0, 2.5, (300.0, 120.0))
    landmarks = template @ forward[:, :2].T + forward[:, 2]
    pixels = np.zeros((800, 800, 3), np.uint8)
    for x, y in landmarks:
        pixels[round(y) - 8 : round(y) + 9, round(x) - 8 : round(x) + 9] = 255
    chip = np.asarray(align_face(Image.fromarray(pixels), landmarks, size, "dlib"))
    assert chip.shape == (size, size, 3)
    for x, y in template:
        # The bright blob's centroid near each template point must sit on it (within a pixel).
        x0, y0 = round(x) - 8, round(y) - 8
        window = chip[y0 : y0 + 17, x0 : x0 + 17, 0].astype(float)
        assert window.sum() > 0, f"no dot near template point {(x, y)}"
        ys, xs = np.mgrid[y0 : y0 + 17, x0 : x0 + 17]
        centre = ((xs * window).sum() / window.sum(), (ys * window).sum() / window.sum())
        assert np.hypot(centre[0] - x, centre[1] - y) < 1.0, (centre, (x, y))


def test_align_rejects_wrong_landmark_count_and_unknown_template():
    image = Image.new("RGB", (100, 100))
    with pytest.raises(ValueError, match="5 landmarks"):
        align_face(image, [(1, 2), (3, 4)], 150, "dlib")
    with pytest.raises(ValueError, match="unknown alignment template"):
        align_face(image, [(1, 2)] * 5, 150, "nope")


def test_crop_thumbnail_is_square_with_margin():
    image = Image.new("RGB", (400, 300), (200, 10, 10))
    thumb = crop_thumbnail(image, (100, 100, 180, 200), size=96, margin=0.3)
    assert thumb.size == (96, 96) and thumb.mode == "RGB"
    # The crop is inside the (red) image, so no black padding appears.
    assert np.asarray(thumb)[..., 0].min() > 150


def test_facenet_crop_is_the_box_plus_a_margin_in_chip_pixels():
    # A white 128×128 box on black: with margin 32 at 160 px the box fills the middle 128 px of the
    # chip, 16 px of margin on each side (the margin scales with the box: 32 · 128 / (160 − 32) = 32 px).
    pixels = np.zeros((400, 400, 3), np.uint8)
    pixels[100:228, 150:278] = 255
    chip = np.asarray(crop_face_box(Image.fromarray(pixels), (150, 100, 278, 228), size=160, margin=32))
    assert chip.shape == (160, 160, 3)
    white = np.argwhere(chip[..., 0] > 127)
    assert white.min(axis=0).tolist() == [16, 16] and white.max(axis=0).tolist() == [143, 143]
    # At the image border the enlarged box is clipped (not padded), as facenet-pytorch does.
    corner = np.zeros((400, 400, 3), np.uint8)
    corner[:128, :128] = 255
    edge = np.asarray(crop_face_box(Image.fromarray(corner), (0, 0, 128, 128), size=160, margin=32))
    white = np.argwhere(edge[..., 0] > 127)
    assert white.min(axis=0).tolist() == [0, 0]  # no black band where the margin left the image
    assert 140 <= white.max(axis=0).min() <= 143  # 128 of the 144 px kept, stretched to 160
    with pytest.raises(ValueError, match="empty face box"):
        crop_face_box(Image.fromarray(pixels), (10, 10, 10, 50))


def test_our_chips_match_dlibs_get_face_chip_closely(testdata: Path):
    """Our MTCNN-landmark alignment must show dlib's network what dlib's own pipeline shows it:
    its descriptor of our chip should be within a small cosine distance of the descriptor dlib
    computes from its own 5-point landmarks and get_face_chip (padding 0.25)."""
    dlib = pytest.importorskip("dlib")
    from ml.faces.dlib_resnet import default_model_path
    from ml.weights import package_file

    predictor = dlib.shape_predictor(
        str(package_file("face_recognition_models", "models", "shape_predictor_5_face_landmarks.dat"))
    )
    model = dlib.face_recognition_model_v1(str(default_model_path()))
    detector = FaceDetector(device="cpu")
    distances = []
    for person in ("barack_obama", "jackie_chan", "nicole_kidman", "tony_blair", "yao_ming", "katy_perry"):
        path = sorted((testdata / "faces" / person).iterdir())[0]
        image = open_image(path)
        face = max(detector.detect(image), key=lambda f: f.width * f.height)
        pixels = np.asarray(image)
        shape = predictor(pixels, dlib.rectangle(*(int(v) for v in face.box)))
        theirs = np.asarray(model.compute_face_descriptor(pixels, shape))
        ours = np.asarray(model.compute_face_descriptor(np.asarray(align_face(image, face.landmarks, 150, "dlib"))))
        distances.append(1 - theirs @ ours / np.linalg.norm(theirs) / np.linalg.norm(ours))
    # Same-person pairs sit around 0.03-0.08 apart and the decision threshold is ≈0.09.
    assert max(distances) < 0.03, distances
