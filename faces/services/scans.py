"""Face scans: storing an image uploaded to the faces app and queueing the job that finds its faces.

The job's own work is in ``faces/runs/scans.py``; this module only creates rows and enqueues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from faces import conf
from faces.errors import RecognitionOff
from faces.jobs import FACE_SCANS
from faces.models import Face, FaceScan, FaceSettings, Person, Upload, UploadPurpose
from faces.services.uploads import uploads_guard
from nstsite import jobs
from nstsite.models import ACTIVE
from nstsite.uploads import UploadError, encode, read_upload

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from gallery.models import Photo


def upload_create(
    *, owner: User, file: UploadedFile | bytes, purpose: str, person: Person | None = None, name: str = ""
) -> Upload:
    """Validate and store an image uploaded to the faces app; raises ``nstsite.uploads.UploadError``."""
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


def face_scan_create(*, photo: Photo | None = None, upload: Upload | None = None) -> FaceScan:
    """Enqueue detection + identification of a gallery ``photo`` (or a faces ``upload``).

    Idempotent while a scan of the same source is queued or running: that scan is returned.
    The job is enqueued when the surrounding transaction commits. Raises :class:`RecognitionOff`
    for a photo or identification upload of a user who turned face recognition off.
    """
    source: dict[str, Photo | Upload]
    if photo is not None and upload is None:
        owner_id, source = photo.owner_id, {"photo": photo}
        enrollment = False
    elif upload is not None and photo is None:
        owner_id, source = upload.owner_id, {"upload": upload}
        enrollment = upload.purpose == UploadPurpose.ENROLL
    else:
        raise ValueError("give exactly one of photo or upload")
    if not enrollment and not FaceSettings.recognition_on(owner_id):
        raise RecognitionOff()
    FaceScan.reap_stale(after=jobs.stale_after())  # a scan whose worker died is not "active"
    active = FaceScan.objects.filter(status__in=ACTIVE, **source).first()
    if active is not None:
        # Asking again must work even if the queue lost the job (e.g. PostgreSQL was down
        # while a worker went through it): a queued row with no job is enqueued again.
        jobs.ensure_enqueued(FaceScan, active.pk)
        active.refresh_from_db()
        if active.is_active:
            return active
    scan = FaceScan.objects.create(owner_id=owner_id, embedder=conf.embedder_name(), **source)
    FACE_SCANS.send(scan.pk)
    return scan


def upload_scan_create(
    *, owner: User, file: UploadedFile | bytes, purpose: str, person: Person | None = None, name: str = ""
) -> FaceScan:
    """Store an uploaded image and queue its scan, all or nothing: if either is refused
    (``UploadError``, :class:`RecognitionOff`), no row and no file is left behind."""
    with uploads_guard() as stored:
        upload = upload_create(owner=owner, file=file, purpose=purpose, person=person, name=name)
        stored.append(upload)
        return face_scan_create(upload=upload)


def identification_create(*, owner: User, image: UploadedFile | None = None, photo: Photo | None = None) -> FaceScan:
    """Identify the faces of ``image`` (uploaded now) or of ``photo`` (one of ``owner``'s): a scan job.

    Raises :class:`RecognitionOff` when ``owner`` turned recognition off (checked before anything
    is stored), and a ``ValidationError`` on ``image`` for a refused image.
    """
    if photo is not None:
        return face_scan_create(photo=photo)
    if image is None:
        raise ValidationError({"image": "Choose a photo to upload."})
    if not FaceSettings.recognition_on(owner.pk):
        raise RecognitionOff()
    try:
        return upload_scan_create(owner=owner, file=image, purpose=UploadPurpose.IDENTIFY)
    except UploadError as exc:
        raise ValidationError({"image": str(exc)}) from exc


def photo_faces_delete(*, photo: Photo) -> int:
    """Erase every face of a gallery photo (rows, embeddings, crop files) and its scans.

    The gallery calls this before deleting a photo; the CASCADE would remove the rows too, and
    the ``post_delete`` receivers remove the crop files either way.
    """
    with transaction.atomic():
        count, _ = Face.objects.filter(photo=photo).delete()
        FaceScan.objects.filter(photo=photo).delete()
    return count
