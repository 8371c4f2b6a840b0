"""The verification job, 1:1: two photos (the largest face of each), or a photo against a person.

Runs as a job (the detector and embedder are models). Against a person, the distance is to the
person's nearest reference face. No embedding is stored: the row keeps boxes and the answer.
"""

from __future__ import annotations

import numpy as np
from django.db import connection, transaction
from PIL import Image

from faces import conf
from faces.detection import Detection, detect_and_embed
from faces.errors import NoFace, NoReference
from faces.identify import threshold_for, vector_literal
from faces.models import Person, Upload, Verification
from faces.vector_index import cast, predicate
from gallery.models import Photo
from ml.faces.verify import verify
from nstsite.files import open_stored_image


def _largest(detections: list[Detection], which: str) -> Detection:
    if not detections:
        raise NoFace(which)
    return max(detections, key=lambda d: d.face.width * d.face.height)


def nearest_reference(embedding: np.ndarray, person: Person, embedder: str) -> np.ndarray | None:
    """``person``'s reference face nearest to ``embedding`` (exact search over that person's faces)."""
    dim = conf.embedder_dim(embedder)
    vector = vector_literal(embedding)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT embedding::text FROM faces_face WHERE {predicate(embedder)} AND person_id = %s "  # noqa: S608
            f"ORDER BY {cast(dim)} <=> %s::vector({dim}) LIMIT 1",
            [person.pk, vector],
        )
        row = cursor.fetchone()
    return None if row is None else np.asarray(row[0].strip("[]").split(","), dtype=np.float32)


def _box(detection: Detection) -> list[float]:
    return [round(float(v), 1) for v in detection.face.box]


def _source(photo: Photo | None, upload: Upload | None) -> Image.Image:
    """One side's image: a gallery photo's or an upload's (verification_create requires exactly one)."""
    if photo is not None:
        return open_stored_image(photo.image)
    if upload is None:
        raise ValueError("a verification side has neither a photo nor an upload")
    return open_stored_image(upload.image)


def verification_execute(verification_id: int) -> None:
    """The job's work on its claimed verification: detect, embed, compare, store the answer."""
    v = Verification.objects.select_related("photo_a", "upload_a", "photo_b", "upload_b", "person").get(
        pk=verification_id
    )
    threshold = threshold_for(v.embedder).value
    a = _largest(detect_and_embed(_source(v.photo_a, v.upload_a), v.embedder), "first")
    box_b = None
    if v.person is not None:
        reference = nearest_reference(a.embedding, v.person, v.embedder)
        if reference is None:
            raise NoReference(str(v.person))
        result = verify(a.embedding, reference, threshold, "cosine")
    else:
        b = _largest(detect_and_embed(_source(v.photo_b, v.upload_b), v.embedder), "second")
        result = verify(a.embedding, b.embedding, threshold, "cosine")
        box_b = _box(b)
    with transaction.atomic():
        Verification.succeed(
            verification_id,
            same=result.same,
            distance=result.distance,
            threshold=result.threshold,
            score=result.score,
            box_a=_box(a),
            box_b=box_b,
        )
