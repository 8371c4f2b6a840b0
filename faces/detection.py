"""Faces found in a photo: detection + embedding (models: worker or command only) and storing them.

Used by the scan job (``faces/runs/scans.py``), the verification job and the enrollment import
(a management command). Re-storing never loses what people said: faces whose assignment is
*enrolled* or *confirmed* are kept as they are (matched to the new detections by box overlap,
as Immich does with IoU > 0.5), and "not this person" rejections stay with the face.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from faces import engines
from faces.models import Face, FaceScan, UploadPurpose
from ml.faces.align import crop_thumbnail

if TYPE_CHECKING:
    from ml.faces.detect import DetectedFace

CROP_SIDE = 160
IOU_SAME_FACE = 0.5


@dataclass
class Detection:
    face: DetectedFace
    embedding: np.ndarray


def detect_and_embed(image: Image.Image, embedder_name: str) -> list[Detection]:
    """Run the detector and the embedder on one photo (worker or CLI only)."""
    return detect_and_embed_many([image], [embedder_name])[0]


def detect_and_embed_many(images: Sequence[Image.Image], embedder_names: Sequence[str]) -> list[list[Detection]]:
    """Detections with embeddings for several photos at once (worker or CLI only).

    Detection runs as one cascade over all photos; each embedder then aligns the faces of its
    photos and embeds them in one batch. The result per photo is what :func:`detect_and_embed`
    gives for it alone (tests/faces/test_scan_batches.py).
    """
    found = engines.detector().detect_batch(images)
    results: list[list[Detection]] = [[] for _ in images]
    by_embedder: dict[str, list[int]] = defaultdict(list)
    for index, faces in enumerate(found):
        if faces:
            by_embedder[embedder_names[index]].append(index)
    for name, members in by_embedder.items():
        embedder = engines.embedder(name)
        chips = [embedder.align(images[i], found[i]) for i in members]
        vectors = embedder.embed_chips([chip for per_photo in chips for chip in per_photo])
        start = 0
        for i in members:
            count = len(found[i])
            results[i] = [Detection(f, v) for f, v in zip(found[i], vectors[start : start + count], strict=True)]
            start += count
    return results


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _crop_file(image: Image.Image, box: tuple[float, ...]) -> ContentFile:
    buffer = io.BytesIO()
    crop_thumbnail(image, box, size=CROP_SIDE).save(buffer, "JPEG", quality=88)
    return ContentFile(buffer.getvalue(), name="crop.jpg")


def _apply_detection(face: Face, detection: Detection, embedder: str) -> None:
    x1, y1, x2, y2 = detection.face.box
    face.x1, face.y1, face.x2, face.y2 = float(x1), float(y1), float(x2), float(y2)
    face.landmarks = [[float(x), float(y)] for x, y in detection.face.landmarks]
    face.score = float(detection.face.score)
    face.embedding = detection.embedding
    face.embedder = embedder


def store_detections(scan: FaceScan, image: Image.Image, detections: list[Detection]) -> list[Face]:
    """Match detections to the source's existing faces and save them; returns the source's faces.

    Kept faces (enrolled/confirmed) keep their person; other matched faces keep their rejections
    and get re-identified; existing unkept faces that no detection matches are removed.
    """
    source = {"photo_id": scan.photo_id} if scan.photo_id else {"upload_id": scan.upload_id}
    existing = list(Face.objects.filter(**source))
    unmatched = set(range(len(existing)))
    faces: list[Face] = []
    with_crops = scan.photo_id is not None or (scan.upload is not None and scan.upload.purpose == UploadPurpose.ENROLL)
    for detection in detections:
        overlaps = [(iou(existing[i].box, detection.face.box), i) for i in unmatched]
        best = max(overlaps, default=(0.0, -1))
        if best[0] >= IOU_SAME_FACE:
            face = existing[best[1]]
            unmatched.discard(best[1])
        else:
            face = Face(owner_id=scan.owner_id, **source)
        _apply_detection(face, detection, scan.embedder)
        if with_crops:
            if face.crop:
                face.crop.delete(save=False)
            face.crop.save("crop.jpg", _crop_file(image, face.box), save=False)
        face.save()
        faces.append(face)
    for i in unmatched:
        if existing[i].is_kept:
            faces.append(existing[i])  # the detector missed a face a person named: keep their word
        else:
            existing[i].delete()
    return faces
