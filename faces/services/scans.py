"""Face scans: detect, embed and identify the faces of a gallery photo or an upload (on the faces queue).

Re-running a scan never loses what people said: faces whose assignment is *enrolled* or
*confirmed* are kept as they are (matched to the new detections by box overlap, as Immich does
with IoU > 0.5), and "not this person" rejections stay with the face.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from faces import conf, engines
from faces.models import Assignment, EventAction, Face, FaceScan, PeopleEvent, Person, Upload, UploadPurpose
from faces.services.identify import FaceQuery, identify, threshold_for
from gallery.imaging import encode, read_upload
from ml.faces.align import crop_thumbnail
from ml.images import open_image
from nstsite import jobs
from nstsite.models import ACTIVE, TaskStatus

if TYPE_CHECKING:
    from ml.faces.detect import DetectedFace

CROP_SIDE = 160
IOU_SAME_FACE = 0.5


def upload_create(
    *, owner, file: UploadedFile | bytes, purpose: str, person: Person | None = None, name: str = ""
) -> Upload:  # type: ignore[no-untyped-def]
    """Validate and store an image uploaded to the faces app; raises ``gallery.imaging.UploadError``."""
    clean = read_upload(file, name=name)
    upload = Upload(
        owner=owner,
        purpose=purpose,
        person=person,
        original_name=(name or getattr(file, "name", "") or "")[:255],
        sha256=clean.sha256,
    )
    encoded = encode(clean.image, clean.format)
    upload.image.save(str(encoded.name), encoded, save=False)  # the name carries the format's suffix
    upload.save()
    return upload


def face_scan_create(*, photo=None, upload: Upload | None = None, owner=None) -> FaceScan:  # type: ignore[no-untyped-def]
    """Enqueue detection + identification of a gallery ``photo`` (or a faces ``upload``).

    Idempotent while a scan of the same source is queued or running: that scan is returned.
    The job is enqueued when the surrounding transaction commits.
    """
    if (photo is None) == (upload is None):
        raise ValueError("give exactly one of photo or upload")
    source = {"photo": photo} if photo is not None else {"upload": upload}
    FaceScan.reap_stale(after=jobs.stale_after())  # a scan whose worker died is not "active"
    active = FaceScan.objects.filter(status__in=ACTIVE, **source).first()
    if active is not None:
        # Asking again must work even if the queue lost the job (e.g. PostgreSQL was down
        # while a worker went through it): a queued row with no job is enqueued again.
        jobs.ensure_enqueued(FaceScan, active.pk)
        active.refresh_from_db()
        if active.is_active:
            return active
    scan = FaceScan.objects.create(
        owner=owner or (photo.owner if photo is not None else upload.owner),  # type: ignore[union-attr]
        embedder=conf.embedder_name(),
        **source,
    )
    from faces.jobs import face_scan_failed, face_scan_run

    jobs.enqueue("faces", face_scan_run, FaceScan, scan.pk, on_failure=face_scan_failed)
    return scan


def latest_scan(*, photo=None, upload: Upload | None = None) -> FaceScan | None:  # type: ignore[no-untyped-def]
    source = {"photo": photo} if photo is not None else {"upload": upload}
    return FaceScan.objects.filter(**source).order_by("-created", "-id").first()


def photo_faces_delete(*, photo) -> int:  # type: ignore[no-untyped-def]
    """Erase every face of a gallery photo (rows, embeddings, crop files) and its scans.

    The gallery calls this before deleting a photo; the CASCADE would remove the rows too, and
    the ``post_delete`` receivers remove the crop files either way.
    """
    with transaction.atomic():
        count, _ = Face.objects.filter(photo=photo).delete()
        FaceScan.objects.filter(photo=photo).delete()
    return count


# --- the job's work --------------------------------------------------------------------------


@dataclass
class Detection:
    face: DetectedFace
    embedding: np.ndarray


def _open_source(scan: FaceScan) -> Image.Image:
    field = scan.photo.image if scan.photo_id else scan.upload.image  # type: ignore[union-attr]
    with field.open("rb") as handle:
        return open_image(handle.read())


def detect_and_embed(image: Image.Image, embedder_name: str) -> list[Detection]:
    """Run the detector and the embedder (worker or CLI only)."""
    detected = engines.detector().detect(image)
    if not detected:
        return []
    vectors = engines.embedder(embedder_name).embed_faces(image, detected)
    return [Detection(face, vector) for face, vector in zip(detected, vectors, strict=True)]


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
    with_crops = scan.photo_id is not None or scan.upload.purpose == UploadPurpose.ENROLL  # type: ignore[union-attr]
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


def identify_source_faces(scan: FaceScan, faces: list[Face]) -> float:
    """Assign people to the source's faces that nobody confirmed; returns the threshold used."""
    threshold = threshold_for(scan.embedder).value
    open_faces = [f for f in faces if not f.is_kept and f.embedding is not None and f.embedder == scan.embedder]
    taken = {f.person_id for f in faces if f.is_kept and f.person_id}
    rejected: dict[int, set[int]] = {}
    for face_id, person_id in Face.rejected.through.objects.filter(face_id__in=[f.pk for f in open_faces]).values_list(
        "face_id", "person_id"
    ):
        rejected.setdefault(face_id, set()).add(person_id)
    queries = [
        FaceQuery(f.pk, np.asarray(f.embedding, dtype=np.float32), rejected.get(f.pk, set())) for f in open_faces
    ]
    matches = identify(queries, embedder=scan.embedder, threshold=threshold, taken=taken)
    for face in open_faces:
        match = matches.get(face.pk)
        if match is None:
            face.person_id, face.assignment, face.distance = None, Assignment.NONE, None
        else:
            face.person_id = match.person_id
            face.assignment = Assignment.AUTO if match.sure else Assignment.SUGGESTED
            face.distance = match.distance
        face.assigned_by = None
        face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    return threshold


def enroll_source_faces(scan: FaceScan, faces: list[Face]) -> str:
    """An enrollment photo: one face is the person; several must be chosen by staff."""
    upload: Upload = scan.upload  # type: ignore[assignment]
    person = upload.person
    if person is None:
        return "This photo belongs to no one any more."
    if not faces:
        return "No face was found in this photo."
    if len(faces) == 1:
        face_enroll(face=faces[0], person=person, actor=upload.owner)
        return ""
    return f"{len(faces)} faces were found: choose which one is {person.name}."


def face_scan_run_body(scan_id: int, *, worker_name: str = "") -> None:
    if not FaceScan.claim(scan_id, worker_name=worker_name):
        return  # cancelled, finished or already claimed: running twice is harmless
    scan = FaceScan.objects.select_related("photo", "upload", "upload__person").get(pk=scan_id)
    with jobs.heartbeat(FaceScan, scan_id):
        image = _open_source(scan)
        detections = detect_and_embed(image, scan.embedder)
        FaceScan.beat(scan_id, progress=0.7)
        with transaction.atomic():
            faces = store_detections(scan, image, detections)
            notice, threshold = "", None
            if scan.upload_id and scan.upload.purpose == UploadPurpose.ENROLL:  # type: ignore[union-attr]
                notice = enroll_source_faces(scan, faces)
            else:
                threshold = identify_source_faces(scan, faces)
                if scan.upload_id and not conf.keep_upload_embeddings():
                    # A one-off identification: keep the answer, not the biometric vectors.
                    Face.objects.filter(upload_id=scan.upload_id).update(embedding=None)
                if not faces:
                    notice = "No face was found in this photo."
            FaceScan.objects.filter(pk=scan_id, status=TaskStatus.RUNNING).update(
                status=TaskStatus.SUCCEEDED,
                progress=1.0,
                face_count=len(faces),
                threshold=threshold,
                notice=notice[:300],
                finished_at=timezone.now(),
            )


def face_enroll(*, face: Face, person: Person, actor) -> Face:  # type: ignore[no-untyped-def]
    """Make ``face`` a reference face of ``person``."""
    face.person = person
    face.assignment = Assignment.ENROLLED
    face.distance = None
    face.assigned_by = actor
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    face.rejected.remove(person)
    PeopleEvent.objects.create(
        action=EventAction.ENROLL, actor=actor, person=person, person_name=person.name, details={"face": face.pk}
    )
    return face
