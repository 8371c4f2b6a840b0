"""Stored files, once for every app: random ``upload_to`` names, owner-checked serving, reading images back.

Files never live at guessable public URLs: every image goes through an app's view, which looks the
object up in the requesting user's own rows first and then calls :func:`serve`. With remote
storage (S3) :func:`serve` redirects to a short-lived signed URL instead of streaming.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete
from django.http import FileResponse, Http404, HttpResponseBase, HttpResponseRedirect
from PIL import Image

from ml.images import open_image

UploadTo = Callable[[models.Model, str], str]


def upload_to(folder: str, *, name: str, module: str) -> UploadTo:
    """An ``upload_to`` callable storing files under ``folder`` with random names that reveal nothing.

    Migrations reference an ``upload_to`` by import path, so the callable is given the ``name`` and
    ``module`` it is bound to there (``photo_path = upload_to("photos", name="photo_path", module=__name__)``).
    """

    def path(instance: models.Model, filename: str) -> str:
        suffix = PurePosixPath(filename).suffix.lower() or ".jpg"
        return f"{folder}/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{suffix}"

    path.__name__ = path.__qualname__ = name
    path.__module__ = module
    return path


def serve(field: FieldFile, *, download_name: str | None = None) -> HttpResponseBase:
    """The file of ``field`` (404 when empty or gone): streamed, or a signed URL on remote storage.

    The content type follows the stored name (a WebP is ``image/webp``); ``download_name`` makes it
    an attachment under that name.
    """
    if not field:
        raise Http404("No file.")
    storage = field.storage
    if settings.MEDIA_REDIRECT_TO_STORAGE and not hasattr(storage, "path"):  # remote: a signed, expiring URL
        # The bucket names the download too (S3's response-content-disposition), as the stream below does.
        parameters = (
            {"ResponseContentDisposition": f'attachment; filename="{download_name}"'} if download_name else None
        )
        return HttpResponseRedirect(storage.url(field.name, parameters=parameters))  # type: ignore[call-arg]
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("File missing.") from None
    response = FileResponse(handle, as_attachment=download_name is not None, filename=download_name or "")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def open_stored_image(field: FieldFile) -> Image.Image:
    """The image stored in ``field``, decoded (RGB, upright); raises ``ml.images.ImageError`` if it is not one."""
    with field.open("rb") as handle:
        return open_image(handle.read())


# --- the file lifecycle: a row's files go when the row goes, however it goes -----------------------


def erase_on_commit(storage: Any, names: Iterable[str]) -> None:
    """Delete ``names`` from ``storage`` once the current transaction commits (at once outside one),
    so a rolled-back delete keeps its files."""
    wanted = [name for name in names if name]
    if wanted:
        transaction.on_commit(lambda: [storage.delete(name) for name in wanted])


def erase_files_with_rows(
    model: type[models.Model], *fields: str, also: Callable[[Any], Iterable[str]] | None = None
) -> None:
    """Delete a ``model`` row's files (its file ``fields``, and the storage names ``also(row)``
    returns) after every delete that commits: a service's, the admin's, a cascade's, a
    ``QuerySet.delete()`` — they all send ``post_delete`` for each row, while ``Model.delete()`` is
    skipped by all but the first. Apps call this once, from ``AppConfig.ready``."""

    def erase(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
        files = [getattr(instance, field) for field in fields]
        storage = next((f.storage for f in files), None)
        for file in files:
            erase_on_commit(file.storage, [file.name or ""])
        if also is not None:
            erase_on_commit(storage or default_storage, list(also(instance)))

    post_delete.connect(erase, sender=model, weak=False, dispatch_uid=f"erase-files:{model._meta.label}")
