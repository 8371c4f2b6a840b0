"""The vectorised MTCNN cascade finds what facenet-pytorch's own detect_face finds, photo for photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.faces.cascade import crop_resample, detect_many
from ml.faces.detect import FaceDetector
from ml.images import open_image


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(device="cpu")


@pytest.fixture(scope="module")
def group_photos(testdata: Path) -> list[np.ndarray]:
    photos = []
    for name in ["facenet-pytorch__multiface.jpg", "CompreFace__016_8.jpg", "deepface__couple.jpg"]:
        image = open_image(testdata / "faces_group" / name)
        image.thumbnail((640, 640))
        photos.append(np.asarray(image))
    return photos


def test_crops_equal_area_interpolation_of_each_box():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (61, 83, 3), dtype=np.uint8), rng.integers(0, 256, (40, 37, 3), dtype=np.uint8)]
    boxes, owners = [], []
    for _ in range(40):
        owner = int(rng.integers(0, 2))
        h, w = images[owner].shape[:2]
        y0, x0 = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
        boxes.append((y0, int(rng.integers(y0 + 1, h + 1)), x0, int(rng.integers(x0 + 1, w + 1))))
        owners.append(owner)
    for size in (24, 48):
        got = crop_resample(images, np.array(owners), np.array(boxes), size)
        for k, (y0, y1, x0, x1) in enumerate(boxes):
            crop = torch.from_numpy(images[owners[k]]).permute(2, 0, 1)[None, :, y0:y1, x0:x1].float()
            want = torch.nn.functional.interpolate(crop, size=(size, size), mode="area")[0]
            assert torch.equal(got[k], want), (size, (y0, y1, x0, x1))  # bit-equal: exact sums, same division


def test_cascade_equals_facenet_pytorch_detect_face_on_real_group_photos(detector, group_photos):
    from facenet_pytorch.models.utils.detect_face import detect_face

    device = torch.device("cpu")
    with torch.inference_mode():
        ours = detect_many(group_photos, [20.0] * len(group_photos), detector._nets, detector.thresholds, 0.709, device)
        for photo, (boxes, points) in zip(group_photos, ours, strict=True):
            ref_boxes, ref_points = detect_face(
                torch.from_numpy(photo[None].copy()), 20.0, *detector._nets, list(detector.thresholds), 0.709, device
            )
            ref_boxes = np.asarray(ref_boxes[0], dtype=np.float32).reshape(-1, 5)
            ref_points = np.asarray(ref_points[0], dtype=np.float32).reshape(-1, 5, 2)
            assert boxes.shape == ref_boxes.shape and len(boxes) >= 2
            assert np.abs(boxes - ref_boxes).max() < 1e-2  # pixels and probabilities
            assert np.abs(points - ref_points).max() < 1e-2


def test_a_batch_of_mixed_sizes_finds_what_each_photo_finds_alone(detector, group_photos):
    photos = [Image.fromarray(p) for p in group_photos]
    photos.append(photos[0].resize((photos[0].width // 2, photos[0].height // 2)))
    photos.append(Image.new("RGB", (10, 10)))  # too small for any face: empty, and no error
    together = detector.detect_batch(photos)
    for photo, faces in zip(photos, together, strict=True):
        alone = detector.detect(photo)
        assert len(alone) == len(faces)
        for a, b in zip(alone, faces, strict=True):
            assert np.abs(np.subtract(a.box, b.box)).max() < 1e-3 and abs(a.score - b.score) < 1e-5
            assert np.abs(a.landmarks_array() - b.landmarks_array()).max() < 1e-3
    assert together[-1] == [] and sum(len(f) for f in together) >= 8
