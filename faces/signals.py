"""File clean-up for faces rows, however they are deleted.

Cascades and ``QuerySet.delete()`` (the admin's bulk action) never call ``Model.delete()``, but
they do send ``post_delete`` for every row, so crops, enrollment photos and ROC plots are removed
here — after the transaction commits, so a rolled-back delete keeps its files.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from faces.models import Calibration, Face, Upload


def _delete_file_on_commit(field: models.fields.files.FieldFile) -> None:
    if field and field.name:
        storage, name = field.storage, field.name
        transaction.on_commit(lambda: storage.delete(name))


@receiver(post_delete, sender=Face)
def face_deleted(sender: type[Face], instance: Face, **kwargs: Any) -> None:
    _delete_file_on_commit(instance.crop)


@receiver(post_delete, sender=Upload)
def upload_deleted(sender: type[Upload], instance: Upload, **kwargs: Any) -> None:
    _delete_file_on_commit(instance.image)


@receiver(post_delete, sender=Calibration)
def calibration_deleted(sender: type[Calibration], instance: Calibration, **kwargs: Any) -> None:
    _delete_file_on_commit(instance.roc)
