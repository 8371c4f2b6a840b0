"""The face-scan job: detect, embed and identify the faces of a gallery photo or an upload (faces queue).

A scan job takes on up to ``FACES_SCAN_BATCH - 1`` more queued scans and runs their photos through
the detector and embedder together (``faces/detection.py``).
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction
from django.utils import timezone
from PIL import Image

from faces import conf
from faces.detection import Detection, detect_and_embed, detect_and_embed_many, store_detections
from faces.errors import RecognitionOff
from faces.identify import FaceQuery, identify, threshold_for
from faces.models import Assignment, Face, FaceScan, FaceSettings, UploadPurpose
from faces.references import face_enroll
from faces.runs.clusters import unknown_faces_group
from nstsite import jobs
from nstsite.files import open_stored_image
from nstsite.models import TaskStatus

log = logging.getLogger(__name__)


def _open_source(scan: FaceScan) -> Image.Image:
    source = scan.photo or scan.upload  # exactly one is set
    if source is None:
        raise ValueError(f"scan {scan.pk} has neither a photo nor an upload")
    return open_stored_image(source.image)


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
    matches = identify(queries, embedder=scan.embedder, threshold=threshold, taken=taken, owner_id=scan.owner_id)
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
    upload = scan.upload
    person = upload.person if upload is not None else None
    if upload is None or person is None:
        return "This photo belongs to no one any more."
    if not faces:
        return "No face was found in this photo."
    if len(faces) == 1:
        face_enroll(face=faces[0], person=person, actor=upload.owner)
        return ""
    return f"{len(faces)} faces were found: choose which one is {person.name}."


def face_scan_execute(scan_id: int) -> None:
    """The job's work on its claimed scan: take on up to ``FACES_SCAN_BATCH - 1`` more queued scans, run them together.

    Every other scan is claimed with the same conditional update as a lone one, so the RQ jobs of
    the scans taken on here find their rows claimed and return at once; a scan cancelled meanwhile
    is not taken. A failure in one photo fails that scan only: its own job's failure callback handles
    this job's scan (re-raised), the others are failed here with the same user message.
    """
    others = _claim_more(exclude=scan_id, limit=conf.scan_batch() - 1, worker_name=jobs.current_worker_name())
    with jobs.heartbeat(FaceScan, others):  # the job's own scan beats already (nstsite.jobs.run_task)
        errors = face_scans_process([scan_id, *others])
    for pk, exc in errors.items():
        if pk != scan_id:
            FaceScan.fail(pk, jobs.user_message(type(exc), exc))
    if scan_id in errors:
        raise errors[scan_id]


def _claim_more(*, exclude: int, limit: int, worker_name: str) -> list[int]:
    """Claim up to ``limit`` of the oldest other queued scans; returns the ids this worker got."""
    if limit <= 0:
        return []
    candidates = (
        FaceScan.objects.filter(status=TaskStatus.QUEUED)
        .exclude(pk=exclude)
        .order_by("queued_at", "id")
        .values_list("pk", flat=True)[: 2 * limit]
    )
    claimed: list[int] = []
    for pk in candidates:
        if len(claimed) >= limit:
            break
        if FaceScan.claim(pk, worker_name=worker_name):  # another worker may win the race: then skip it
            claimed.append(pk)
    return claimed


def face_scans_process(scan_ids: list[int]) -> dict[int, Exception]:
    """Detect, embed, store and identify the faces of claimed (running) scans; returns the failures by id.

    Detection and embedding run batched over all photos; if the batch fails, each photo is retried
    alone so one bad photo cannot sink the others. Storing and identifying is one transaction per scan.
    """
    errors: dict[int, Exception] = {}
    scans = FaceScan.objects.select_related("photo", "upload", "upload__person").in_bulk(scan_ids)
    images: dict[int, Image.Image] = {}
    for pk in scan_ids:
        if pk not in scans:  # deleted meanwhile (with its photo): nothing left to do
            continue
        if _recognition_turned_off(scans[pk]):
            continue
        try:
            images[pk] = _open_source(scans[pk])
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this photo's failure only: its scan reports it
            errors[pk] = exc
    ids = list(images)
    try:
        batch = detect_and_embed_many([images[i] for i in ids], [scans[i].embedder for i in ids])
        found = dict(zip(ids, batch, strict=True))
    except Exception:
        log.warning("batched detection of scans %s failed; running them one by one", ids, exc_info=True)
        found = {}
        for pk in ids:
            try:
                found[pk] = detect_and_embed(images[pk], scans[pk].embedder)
            except Exception as exc:  # noqa: BLE001 - as above: one photo's failure, its own scan's
                errors[pk] = exc
    for pk, detections in found.items():
        FaceScan.beat(pk, progress=0.7)
        try:
            _finish_scan(scans[pk], images[pk], detections)
        except Exception as exc:  # noqa: BLE001 - as above
            errors[pk] = exc
    return errors


def _recognition_turned_off(scan: FaceScan) -> bool:
    """Cancel a user's scan if they turned face recognition off after it was queued: compute nothing."""
    enrollment = scan.upload is not None and scan.upload.purpose == UploadPurpose.ENROLL
    if enrollment or FaceSettings.recognition_on(scan.owner_id):
        return False
    FaceScan.objects.filter(pk=scan.pk, status=TaskStatus.RUNNING).update(
        status=TaskStatus.CANCELLED, notice=RecognitionOff.user_message, finished_at=timezone.now()
    )
    return True


def _finish_scan(scan: FaceScan, image: Image.Image, detections: list[Detection]) -> None:
    with transaction.atomic():
        faces = store_detections(scan, image, detections)
        notice, threshold = "", None
        if scan.upload is not None and scan.upload.purpose == UploadPurpose.ENROLL:
            notice = enroll_source_faces(scan, faces)
        else:
            threshold = identify_source_faces(scan, faces)
            if scan.photo_id:
                # Group this photo's unknown faces with the owner's (suggestions, no button).
                unknown_faces_group(owner_id=scan.owner_id, face_ids=[f.pk for f in faces], embedder=scan.embedder)
            if scan.upload_id and not conf.keep_upload_embeddings():
                # A one-off identification: keep the answer, not the biometric vectors.
                Face.objects.filter(upload_id=scan.upload_id).update(embedding=None)
            if not faces:
                notice = "No face was found in this photo."
        FaceScan.succeed(scan.pk, face_count=len(faces), threshold=threshold, notice=notice[:300])
