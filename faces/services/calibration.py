"""Per-embedder threshold calibration on the directory's enrolled people, for a target false-accept rate.

Every pair of directory reference faces (enrolled; users' private confirmations are not used) is
a genuine pair (same person) or an impostor pair; :func:`ml.faces.evaluate.calibrate` picks the
largest threshold whose FAR on the impostor pairs is at most the target. A FAR of ``f`` cannot be
estimated from fewer than ``1/f`` impostor pairs, so such a calibration is refused with that
reason. A finished calibration is a proposal — its TAR/FAR and how many current names would turn
unknown (or appear) are shown — and is used only once staff apply it (:func:`calibration_apply`).
"""

from __future__ import annotations

import io

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.models import Assignment, Calibration, Face, ThresholdOverride
from faces.services.people import directory_people
from faces.services.reidentify import reidentification_create
from ml.faces.evaluate import all_pairs, calibrate, roc_plot_png
from ml.faces.metrics import auc
from ml.faces.verify import pairwise_distances
from nstsite import jobs
from nstsite.models import TaskStatus


class NotEnoughPeople(Exception):
    user_message = "Calibration needs at least two people, one of them with two or more enrolled faces."


MIN_GENUINE_PAIRS = 10


class NotEnoughPairs(Exception):
    def __init__(self, genuine: int, impostor: int, target_far: float) -> None:
        needed = int(np.ceil(1.0 / target_far))
        self.user_message = (
            f"Too few reference pairs to estimate a false-accept rate of {target_far:g}: "
            f"{impostor} impostor pair(s) (at least {needed} needed) and {genuine} genuine pair(s) "
            f"(at least {MIN_GENUINE_PAIRS}). Enroll more people and more faces per person, or aim for a "
            "larger false-accept rate. The threshold in force was not changed."
        )
        super().__init__(self.user_message)


def pair_counts(embedder: str) -> tuple[int, int]:
    """(genuine, impostor) pairs among the directory's enrolled faces, from counts alone."""
    from django.db.models import Count

    per_person = [
        n
        for n in Face.objects.filter(
            embedder=embedder, assignment=Assignment.ENROLLED, embedding__isnull=False, person__in=directory_people()
        )
        .values("person_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    ]
    total = sum(per_person)
    genuine = sum(n * (n - 1) // 2 for n in per_person)
    return genuine, total * (total - 1) // 2 - genuine


def calibration_create(*, actor, embedder: str | None = None, target_far: float | None = None) -> Calibration:  # type: ignore[no-untyped-def]
    """Queue a calibration; refused at once (ValidationError with the reason) when the directory
    has too few reference pairs to estimate ``target_far``."""
    embedder = embedder or conf.embedder_name()
    target_far = target_far or conf.target_far()
    genuine, impostor = pair_counts(embedder)
    if impostor * target_far < 1.0 or genuine < MIN_GENUINE_PAIRS:
        raise ValidationError(NotEnoughPairs(genuine, impostor, target_far).user_message)
    calibration = Calibration.objects.create(created_by=actor, embedder=embedder, target_far=target_far)
    from faces.jobs import calibration_failed, calibration_run

    jobs.enqueue("faces", calibration_run, Calibration, calibration.pk, on_failure=calibration_failed)
    return calibration


def reference_set(embedder: str) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (N, d) and person ids (N,) of the directory's enrolled faces of active people."""
    rows = list(
        Face.objects.filter(
            embedder=embedder,
            assignment=Assignment.ENROLLED,
            embedding__isnull=False,
            person__in=directory_people(),
        )
        .order_by("id")
        .values_list("person_id", "embedding")
    )
    if not rows:
        return np.zeros((0, 1), np.float32), np.zeros(0, np.int64)
    return np.stack([np.asarray(e, np.float32) for _, e in rows]), np.asarray([p for p, _ in rows], np.int64)


def calibration_run_body(calibration_id: int, *, worker_name: str = "") -> None:
    if not Calibration.claim(calibration_id, worker_name=worker_name):
        return
    calibration = Calibration.objects.get(pk=calibration_id)
    with jobs.heartbeat(Calibration, calibration_id):
        embeddings, labels = reference_set(calibration.embedder)
        i, j, same = all_pairs(labels)
        if not same.any() or same.all():
            raise NotEnoughPeople()
        genuine, impostor = int(same.sum()), int((~same).sum())
        if impostor * calibration.target_far < 1.0 or genuine < MIN_GENUINE_PAIRS:
            raise NotEnoughPairs(genuine, impostor, calibration.target_far)
        distances = pairwise_distances(embeddings, embeddings)[i, j]
        threshold = calibrate(distances, same, calibration.target_far)
        buffer = io.BytesIO()
        roc_plot_png(distances, same, buffer, threshold=threshold, title=f"{calibration.embedder}: enrolled people")
        accepted = distances <= threshold
        # What applying it would change: automatic names now farther than the proposal turn
        # unknown; suggestions within it become names.
        lost = Face.objects.filter(
            embedder=calibration.embedder, assignment=Assignment.AUTO, distance__gt=threshold
        ).count()
        gained = Face.objects.filter(
            embedder=calibration.embedder, assignment=Assignment.SUGGESTED, distance__lte=threshold
        ).count()
        calibration.roc.save("roc.png", ContentFile(buffer.getvalue()), save=False)
        with transaction.atomic():
            Calibration.objects.filter(pk=calibration_id, status=TaskStatus.RUNNING).update(
                status=TaskStatus.SUCCEEDED,
                progress=1.0,
                threshold=threshold,
                people=len(set(labels.tolist())),
                faces=len(labels),
                genuine_pairs=int(same.sum()),
                impostor_pairs=int((~same).sum()),
                tar=float(accepted[same].mean()),
                far=float(accepted[~same].mean()),
                auc=auc(distances, same),
                names_lost=lost,
                names_gained=gained,
                roc=calibration.roc.name,
                finished_at=timezone.now(),
            )


@transaction.atomic
def calibration_apply(*, calibration: Calibration, actor) -> Calibration:  # type: ignore[no-untyped-def]
    """Staff confirmed the proposal: it becomes the threshold in force (unless an override wins),
    and every owner's unconfirmed faces are named again under it in the background."""
    calibration = Calibration.objects.select_for_update().get(pk=calibration.pk)
    if calibration.status != TaskStatus.SUCCEEDED or calibration.threshold is None:
        raise ValidationError("Only a finished calibration can be applied.")
    calibration.applied, calibration.applied_by = timezone.now(), actor
    calibration.save(update_fields=["applied", "applied_by"])
    reidentification_create(owner_id=None, embedder=calibration.embedder, reason="threshold")
    return calibration


def threshold_override_set(*, embedder: str, threshold: float | None, actor) -> None:  # type: ignore[no-untyped-def]
    """Set (or with None, remove) the manual threshold of ``embedder``."""
    if threshold is None:
        ThresholdOverride.objects.filter(embedder=embedder).delete()
        reidentification_create(owner_id=None, embedder=embedder, reason="threshold")
        return
    if not 0.0 < threshold < 2.0:
        raise ValidationError("A cosine-distance threshold lies between 0 and 2.")
    ThresholdOverride.objects.update_or_create(embedder=embedder, defaults={"threshold": threshold, "set_by": actor})
    reidentification_create(owner_id=None, embedder=embedder, reason="threshold")
