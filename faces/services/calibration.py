"""Thresholds: calibrating one on the directory's enrolled people (a job), applying it, or setting one by hand.

A FAR of ``f`` cannot be estimated from fewer than ``1/f`` impostor pairs, so such a calibration is
refused at once with that reason. A finished calibration is a proposal (``faces/runs/calibration.py``)
used only once staff apply it (:func:`calibration_apply`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.errors import MIN_GENUINE_PAIRS, NotEnoughPairs
from faces.jobs import CALIBRATIONS
from faces.models import Calibration, ThresholdOverride
from faces.references import reidentification_create
from faces.selectors import pair_counts
from nstsite.models import TaskStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    pass


def calibration_create(*, actor: User, embedder: str | None = None, target_far: float | None = None) -> Calibration:
    """Queue a calibration; refused at once (ValidationError with the reason) when the directory
    has too few reference pairs to estimate ``target_far``."""
    embedder = embedder or conf.embedder_name()
    target_far = target_far or conf.target_far()
    genuine, impostor = pair_counts(embedder)
    if impostor * target_far < 1.0 or genuine < MIN_GENUINE_PAIRS:
        raise ValidationError(NotEnoughPairs(genuine, impostor, target_far).user_message)
    calibration = Calibration.objects.create(created_by=actor, embedder=embedder, target_far=target_far)
    CALIBRATIONS.send(calibration.pk)
    return calibration


@transaction.atomic
def calibration_apply(*, calibration: Calibration, actor: User) -> Calibration:
    """Staff confirmed the proposal: it becomes the threshold in force (unless an override wins),
    and every owner's unconfirmed faces are named again under it in the background."""
    calibration = Calibration.objects.select_for_update().get(pk=calibration.pk)
    if calibration.status != TaskStatus.SUCCEEDED or calibration.threshold is None:
        raise ValidationError("Only a finished calibration can be applied.")
    calibration.applied, calibration.applied_by = timezone.now(), actor
    calibration.save(update_fields=["applied", "applied_by"])
    reidentification_create(owner_id=None, embedder=calibration.embedder, reason="threshold")
    return calibration


def threshold_override_set(*, embedder: str, threshold: float | None, actor: User) -> None:
    """Set (or with None, remove) the manual threshold of ``embedder``."""
    if threshold is None:
        ThresholdOverride.objects.filter(embedder=embedder).delete()
        reidentification_create(owner_id=None, embedder=embedder, reason="threshold")
        return
    if not 0.0 < threshold < 2.0:
        raise ValidationError("A cosine-distance threshold lies between 0 and 2.")
    ThresholdOverride.objects.update_or_create(embedder=embedder, defaults={"threshold": threshold, "set_by": actor})
    reidentification_create(owner_id=None, embedder=embedder, reason="threshold")
