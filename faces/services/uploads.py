"""Identification and verification uploads: owned by their sender, never orphaned, deletable.

An upload's file is written to storage before its row commits. If the request then fails (the
second image is refused, ``photo_b`` is not the caller's), the transaction rolls the row back
but storage has no transaction: :func:`uploads_guard` deletes the files of the rows that never
committed, so no file is ever left without a row that account deletion could find.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from faces.models import FaceScan, Upload, UploadPurpose, Verification


class UploadTracker(list[Upload]):
    """The uploads stored inside one guarded block."""


@contextmanager
def uploads_guard() -> Iterator[UploadTracker]:
    """Run the block in a transaction; if it fails, delete the files of the uploads it stored."""
    stored = UploadTracker()
    try:
        with transaction.atomic():
            yield stored
    except BaseException:
        for upload in stored:
            if upload.image.name:
                upload.image.storage.delete(upload.image.name)
        raise


def upload_delete(*, upload: Upload) -> None:
    """Delete an upload with its faces, scans and verifications (cascade); files go after commit (signals).

    A job still working on one of those rows finds it gone and stops (``BackgroundTask.claim``).
    """
    with transaction.atomic():
        upload.delete()


def scan_delete(*, scan: FaceScan) -> None:
    """Delete a scan; a one-off identification goes with its upload and faces."""
    if scan.upload is not None and scan.upload.purpose == UploadPurpose.IDENTIFY:
        upload_delete(upload=scan.upload)
    else:
        scan.delete()


def verification_delete(*, verification: Verification) -> None:
    """Delete a verification with the images uploaded for it."""
    uploads = [u for u in (verification.upload_a, verification.upload_b) if u is not None]
    with transaction.atomic():
        verification.delete()
        for upload in uploads:
            if upload.purpose == UploadPurpose.IDENTIFY:
                upload_delete(upload=upload)
