"""The re-identification job: keep names current after people gain references (batched by photo).

When a user names a face, merges people or links one to the directory, that user's unconfirmed
faces (unknown, automatic names, suggestions) are identified again; when staff enroll a face
in the directory or apply a new threshold, every owner's are. Confirmed and enrolled faces are
never touched: each update is conditional on the face still being unconfirmed, so an answer a
user gives while the job runs wins.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
from django.db import transaction
from django.utils import timezone

from faces.identify import FaceQuery, identify, threshold_for
from faces.models import Assignment, Face, Reidentification
from faces.selectors import OPEN_ASSIGNMENTS, open_faces

BATCH = 500


def reidentification_execute(run_id: int) -> None:
    """The job's work on its claimed pass: identify the open faces again, whole photos at a time."""
    run = Reidentification.objects.get(pk=run_id)
    threshold = threshold_for(run.embedder).value
    checked = changed = 0
    last_photo = 0
    while True:
        # Whole photos per batch (the one-person-per-photo rule needs all of a photo's faces).
        photo_ids = list(
            open_faces(run.owner_id, run.embedder)
            .filter(photo_id__gt=last_photo)
            .order_by("photo_id")
            .values_list("photo_id", flat=True)
            .distinct()[:BATCH]
        )
        if not photo_ids:
            break
        last_photo = photo_ids[-1]
        faces = list(
            Face.objects.filter(photo_id__in=photo_ids)
            .order_by("photo_id", "id")
            .only("id", "photo_id", "owner_id", "person_id", "assignment", "embedding", "embedder", "distance")
        )
        rejected: dict[int, set[int]] = {}
        for face_id, person_id in Face.rejected.through.objects.filter(face__photo_id__in=photo_ids).values_list(
            "face_id", "person_id"
        ):
            rejected.setdefault(face_id, set()).add(person_id)
        for _, group in groupby(faces, key=lambda f: f.photo_id):
            photo_faces = list(group)
            c, n = _reidentify_photo(photo_faces, run.embedder, threshold, rejected)
            checked, changed = checked + c, changed + n
        Reidentification.beat(run_id, faces_checked=checked, faces_changed=changed)
    Reidentification.succeed(
        run_id,
        faces_checked=checked,
        faces_changed=changed,
    )


def _reidentify_photo(
    faces: list[Face], embedder: str, threshold: float, rejected: dict[int, set[int]]
) -> tuple[int, int]:
    open_faces = [
        f for f in faces if f.assignment in OPEN_ASSIGNMENTS and f.embedding is not None and f.embedder == embedder
    ]
    if not open_faces:
        return 0, 0
    taken = {f.person_id for f in faces if f.assignment not in OPEN_ASSIGNMENTS and f.person_id}
    queries = [FaceQuery(f.pk, np.asarray(f.embedding, np.float32), rejected.get(f.pk, set())) for f in open_faces]
    matches = identify(queries, embedder=embedder, threshold=threshold, taken=taken, owner_id=open_faces[0].owner_id)
    changed = 0
    with transaction.atomic():
        for face in open_faces:
            match = matches.get(face.pk)
            new: tuple[int | None, str, float | None]
            if match is None:
                new = (None, Assignment.NONE.value, None)
            else:
                new = (match.person_id, Assignment.AUTO.value if match.sure else Assignment.SUGGESTED.value,
                       match.distance)  # fmt: skip
            if (face.person_id, face.assignment, face.distance) == new:
                continue
            # Conditional: a confirmation that landed since this batch was read is never overwritten.
            changed += Face.objects.filter(pk=face.pk, assignment__in=OPEN_ASSIGNMENTS).update(
                person_id=new[0], assignment=new[1], distance=new[2], updated=timezone.now()
            )
    return len(open_faces), changed
