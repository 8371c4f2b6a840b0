"""Face detection with MTCNN (facenet-pytorch's P/R/O-Nets and their bundled weights).

:class:`FaceDetector` returns boxes, detection probabilities and the five MTCNN landmarks for
every face, in the pixel coordinates of the image it was given (already EXIF-oriented by
:func:`ml.images.open_image`). Large photos are downscaled before detection, because MTCNN's
image pyramid grows with the image and a 24-megapixel photo would cost seconds for no gain in
faces found; boxes and landmarks are mapped back to the original size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ml.cache import models
from ml.device import pick_device
from ml.images import to_rgb

#: What MTCNN's networks load (bundled with facenet-pytorch): the weights part of a cache key.
MTCNN_WEIGHTS = "facenet_pytorch/data/{pnet,rnet,onet}.pt"

# MTCNN's P-Net looks at 12×12 windows; a "minimum face size" below that would make the
# pyramid upsample the image, which defeats downscaling large photos.
PNET_WINDOW = 12


@dataclass
class DetectedFace:
    """One face found in an image.

    ``box`` is ``(x1, y1, x2, y2)`` in pixels of the (oriented) original image, clipped to it;
    ``score`` is MTCNN's O-Net face probability in 0..1; ``landmarks`` are five ``(x, y)`` points
    in the same pixels: left eye, right eye, nose tip, mouth left corner, mouth right corner
    ("left" meaning the image's left, i.e. the person's right).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: list[tuple[float, float]] = field(default_factory=list)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def landmarks_array(self) -> np.ndarray:
        """Landmarks as a float64 array of shape (5, 2)."""
        return np.asarray(self.landmarks, dtype=np.float64).reshape(-1, 2)


class FaceDetector:
    """MTCNN face detector; build once per process and reuse (the networks load on construction).

    ``min_face_size`` is in pixels of the original image (the longer box side; smaller faces are
    not reported); ``thresholds`` are the P-Net, R-Net and
    O-Net probability cut-offs inside the cascade (facenet-pytorch's defaults); ``min_score`` is
    the final cut-off applied to O-Net's probability; images whose longer side exceeds
    ``max_side`` are downscaled to it for detection. ``factor`` is the pyramid's scale step.
    """

    def __init__(
        self,
        device: str | torch.device | None = None,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        min_score: float = 0.9,
        max_side: int = 1600,
        factor: float = 0.709,
    ) -> None:
        # Imported here so that importing ml.faces (e.g. for DetectedFace) stays cheap.
        from facenet_pytorch import MTCNN

        from ml.faces.cascade import prepare

        if max_side < PNET_WINDOW * 2:
            raise ValueError(f"max_side must be at least {PNET_WINDOW * 2} pixels")
        self.device = pick_device(device)
        self.min_face_size = min_face_size
        self.thresholds = tuple(float(t) for t in thresholds)
        self.min_score = min_score
        self.max_side = max_side
        self.factor = factor
        mtcnn = MTCNN(keep_all=True, device=self.device).eval()
        self._nets = (mtcnn.pnet, mtcnn.rnet, mtcnn.onet)
        prepare(self._nets, self.device)

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Faces in one PIL image (any mode; converted to RGB), best score first."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[Image.Image]) -> list[list[DetectedFace]]:
        """Faces in each of ``images``; one list per image, best score first.

        The whole list goes through one cascade (:func:`ml.faces.cascade.detect_many`): P-Net per
        group of equal-sized photos, then R-Net and O-Net once over every photo's candidates. The
        faces found are the same as with one call per photo.
        """
        from ml.faces.cascade import detect_many

        arrays: list[np.ndarray] = []
        scales: list[float] = []
        indices: list[int] = []
        for index, image in enumerate(images):
            rgb = to_rgb(image)
            scale = min(1.0, self.max_side / max(rgb.size))
            if scale < 1.0:
                size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
                rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            # A face must fit into the smaller side, or the pyramid is empty.
            if min(rgb.size) < self._min_size(scale):
                continue
            arrays.append(np.asarray(rgb, dtype=np.uint8))
            scales.append(scale)
            indices.append(index)
        results: list[list[DetectedFace]] = [[] for _ in images]
        with torch.inference_mode():
            found = detect_many(
                arrays, [self._min_size(s) for s in scales], self._nets, self.thresholds, self.factor, self.device
            )
        for index, scale, (boxes, points) in zip(indices, scales, found, strict=True):
            width, height = images[index].size
            results[index] = self._to_faces(boxes, points, scale, width, height)
        return results

    def _min_size(self, scale: float) -> float:
        return max(float(PNET_WINDOW), self.min_face_size * scale)

    def _to_faces(
        self, boxes: np.ndarray, points: np.ndarray, scale: float, width: int, height: int
    ) -> list[DetectedFace]:
        faces = []
        for box, landmarks in zip(
            np.asarray(boxes, dtype=np.float64).reshape(-1, 5),
            np.asarray(points, dtype=np.float64).reshape(-1, 5, 2),
            strict=True,
        ):
            score = float(box[4])
            if score < self.min_score:
                continue
            x1, y1, x2, y2 = (box[:4] / scale).tolist()
            clipped = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
                continue
            # The pyramid's start scale is only a hint (P-Net's box regression still reports smaller
            # faces), so the minimum size is also enforced on the result.
            if max(x2 - x1, y2 - y1) < self.min_face_size:
                continue
            faces.append(
                DetectedFace(
                    box=clipped,
                    score=score,
                    landmarks=[(float(x) / scale, float(y) / scale) for x, y in landmarks],
                )
            )
        faces.sort(key=lambda face: face.score, reverse=True)
        return faces


def get_detector(device: str | torch.device | None = None) -> FaceDetector:
    """A process-wide :class:`FaceDetector` with default settings on ``device`` (built on first use,
    kept in :data:`ml.cache.models`)."""
    resolved = pick_device(device)
    return models.get("face-detector", MTCNN_WEIGHTS, resolved, lambda: FaceDetector(device=resolved))
