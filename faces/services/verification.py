"""1:1 verification requests: two images or photos, or one against a directory person (staff).

The comparison itself runs as a job (``faces/runs/verification.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from faces import conf
from faces.jobs import VERIFICATIONS
from faces.models import Person, Upload, UploadPurpose, Verification
from faces.services.scans import upload_create
from faces.services.uploads import uploads_guard
from nstsite.uploads import UploadError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from gallery.models import Photo


def verification_create(
    *,
    owner: User,
    photo_a: Photo | None = None,
    upload_a: Upload | None = None,
    photo_b: Photo | None = None,
    upload_b: Upload | None = None,
    person: Person | None = None,
) -> Verification:
    """Queue a verification of a (photo or upload) against b (photo or upload) or a person."""
    if (photo_a is None) == (upload_a is None):
        raise ValidationError("Give one first image.")
    if sum(x is not None for x in (photo_b, upload_b, person)) != 1:
        raise ValidationError("Give one second image, or a person.")
    verification = Verification.objects.create(
        owner=owner,
        photo_a=photo_a,
        upload_a=upload_a,
        photo_b=photo_b,
        upload_b=upload_b,
        person=person,
        embedder=conf.embedder_name(),
    )
    VERIFICATIONS.send(verification.pk)
    return verification


def verification_request(
    *,
    owner: User,
    image_a: UploadedFile | None = None,
    photo_a: Photo | None = None,
    image_b: UploadedFile | None = None,
    photo_b: Photo | None = None,
    person: Person | None = None,
) -> Verification:
    """Store the uploaded images (``image_a``/``image_b``) and queue the verification.

    All or nothing: a refused second image leaves no file of the first behind. A refused image is
    a ``ValidationError`` on its field (``image_a`` or ``image_b``).
    """
    sides: dict[str, Upload | None] = {}
    with uploads_guard() as stored:
        for side, image in (("a", image_a), ("b", image_b)):
            if image is None:
                sides[side] = None
                continue
            try:
                upload = upload_create(owner=owner, file=image, purpose=UploadPurpose.IDENTIFY)
            except UploadError as exc:
                raise ValidationError({f"image_{side}": str(exc)}) from exc
            stored.append(upload)
            sides[side] = upload
        return verification_create(
            owner=owner,
            photo_a=photo_a,
            upload_a=sides["a"],
            photo_b=photo_b,
            upload_b=sides["b"],
            person=person,
        )
