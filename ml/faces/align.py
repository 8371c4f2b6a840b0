"""Face alignment: a similarity transform from MTCNN's five landmarks to an embedder's template.

Each embedder was trained on faces cropped in one particular way; showing it faces cropped the
same way is worth more accuracy than any threshold tuning. A :class:`Template` gives the five
MTCNN landmarks (left eye, right eye, nose tip, mouth left, mouth right) in a unit square around
the "tight" face, plus the padding that the embedder's training crops had around it.

* ``dlib``: what dlib's ``get_face_chip(…, size=150, padding=0.25)`` produces for
  ``dlib_face_recognition_resnet_model_v1``. dlib aligns its *own* 5-point landmarks (eye corners
  and the base of the nose), not MTCNN's, so the points below were measured: on the 173 photos
  of ``testdata/faces`` we ran MTCNN and dlib's ``shape_predictor_5_face_landmarks`` on the same
  face, mapped the MTCNN points into dlib's chip frame with dlib's own template and transform,
  averaged them and made them left/right symmetric (per-point std ≈ 0.01 of the chip for the
  eyes, 0.03–0.04 for nose and mouth).
* ``facenet``: kept for comparison only — the FaceNet embedders do *not* warp, they crop the MTCNN
  box with a margin (:func:`crop_face_box`), as FaceNet was trained: on LFW-style pairs that crop
  (margin 32 at 160 px) scores 98.17 % where this template's warp scores 97.33 %. facenet-pytorch's
  own pipeline has no alignment; it crops the MTCNN box with a
  14-pixel margin at 160 px (``MTCNN(image_size=160, margin=14)``, as in its LFW evaluation).
  The template is the mean MTCNN landmark position inside the MTCNN box (same 173 photos), so
  an aligned chip places the face where that crop would, minus roll and scale jitter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ml.images import to_rgb


@dataclass(frozen=True)
class Template:
    """Canonical landmark positions: ``points`` (5, 2) in 0..1 of the tight face square,
    ``padding`` the fraction of that square added on every side in the output chip."""

    name: str
    points: tuple[tuple[float, float], ...]
    padding: float

    def in_chip(self, size: int, padding: float | None = None) -> np.ndarray:
        """Template points in pixel coordinates of a ``size``×``size`` chip; float64 (5, 2)."""
        pad = self.padding if padding is None else padding
        unit = (np.asarray(self.points, dtype=np.float64) + pad) / (1.0 + 2.0 * pad)
        return unit * size


TEMPLATES: dict[str, Template] = {
    "dlib": Template(
        name="dlib",
        points=((0.2262, 0.2104), (0.7738, 0.2104), (0.5, 0.5338), (0.2520, 0.7902), (0.7480, 0.7902)),
        padding=0.25,
    ),
    "facenet": Template(
        name="facenet",
        points=((0.2713, 0.3962), (0.7287, 0.3962), (0.5, 0.5959), (0.2928, 0.7539), (0.7072, 0.7539)),
        padding=7 / 146,  # facenet-pytorch's margin 14 at image_size 160: 7 px a side around 146 px
    ),
}


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation; Umeyama 1991).

    ``src`` and ``dst`` are (K, 2) point sets, K ≥ 2. Returns the (2, 3) float64 matrix ``M`` with
    ``dst ≈ src @ M[:, :2].T + M[:, 2]``. Reflections are excluded, so a mirrored landmark set is
    rotated, not flipped.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f"need two (K, 2) point sets with K >= 2, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    src_var = (src_c**2).sum() / len(src)
    if src_var <= 0:
        raise ValueError("landmarks are all at one point")
    scale = float(np.trace(np.diag(singular) @ sign) / src_var)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(
    image: Image.Image,
    landmarks: Sequence[Sequence[float]] | np.ndarray,
    size: int,
    template: str = "dlib",
    padding: float | None = None,
) -> Image.Image:
    """Warp the face with these five MTCNN ``landmarks`` onto ``template`` in a ``size``×``size`` chip.

    ``image`` is the PIL image the landmarks were measured on (pixel coordinates); ``padding``
    overrides the template's margin around the face. Returns an RGB chip, bilinear-sampled (as
    dlib's ``extract_image_chip`` does); when the face is shrunk by more than 2×, the image is first
    box-filtered by an integer factor so the chip is not aliased. Areas outside the image are black.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown alignment template {template!r}; known: {', '.join(TEMPLATES)}")
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if points.shape != (5, 2):
        raise ValueError(f"need 5 landmarks, got {points.shape[0]}")
    image = to_rgb(image)
    # Pixel centres sit at +0.5 in PIL's continuous coordinates; landmarks are pixel indices.
    matrix = similarity_transform(points + 0.5, TEMPLATES[template].in_chip(size, padding))
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        factor = int(1.0 / scale)
        image = image.reduce(factor)
        matrix = matrix.copy()
        matrix[:, :2] *= factor  # chip = M · (factor · reduced)
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    return image.transform(
        (size, size), Image.Transform.AFFINE, data=tuple(inverse.ravel()), resample=Image.Resampling.BILINEAR
    )


def crop_thumbnail(image: Image.Image, box: Sequence[float], size: int = 160, margin: float = 0.3) -> Image.Image:
    """A square ``size``×``size`` RGB crop around ``box`` (x1, y1, x2, y2) for showing in the UI.

    The square's side is the box's longer side plus ``margin`` of it on each side; it is not
    rotated (people expect to see the photo as it is). Areas outside the image are black.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    crop_box = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    crop = to_rgb(image).crop(crop_box)
    return crop.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)


def crop_face_box(image: Image.Image, box: Sequence[float], size: int = 160, margin: float = 32) -> Image.Image:
    """FaceNet's input crop: the MTCNN ``box`` (x1, y1, x2, y2) plus a margin, resized to ``size``×``size``.

    As facenet-pytorch's ``extract_face`` (and David Sandberg's ``align_dataset_mtcnn``, which made
    FaceNet's training and LFW crops): ``margin`` is in pixels of the output chip (32 at 160 px,
    i.e. 16 px a side), converted to image pixels in proportion to the box; the enlarged box is
    clipped to the image and resized with PIL's bilinear filter, unrotated and without keeping the
    aspect ratio (MTCNN boxes are nearly square). Returns an RGB image.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"empty face box {tuple(box)}")
    image = to_rgb(image)
    mx = margin * (x2 - x1) / (size - margin)
    my = margin * (y2 - y1) / (size - margin)
    crop = (
        int(max(x1 - mx / 2, 0)),
        int(max(y1 - my / 2, 0)),
        int(min(x2 + mx / 2, image.width)),
        int(min(y2 + my / 2, image.height)),
    )
    return image.crop(crop).resize((size, size), Image.Resampling.BILINEAR)
