"""Per-embedder threshold calibration on the enrolled people, for a target false-accept rate.

Every pair of reference faces (enrolled or confirmed) is a genuine pair (same person) or an
impostor pair; :func:`ml.faces.evaluate.calibrate` picks the largest threshold whose FAR on the
impostor pairs is at most the target. With few people the impostor pairs are few, and a FAR of
1e-3 cannot be measured below 1000 of them: the threshold then simply accepts no impostor pair
(the page says so).
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
from faces.services.people import active_people
from ml.faces.evaluate import all_pairs, calibrate, roc_plot_png
from ml.faces.metrics import auc
from ml.faces.verify import pairwise_distances
from nstsite import jobs
from nstsite.models import TaskStatus


class NotEnoughPeople(Exception):
    user_message = "Calibration needs at least two people, one of them with two or more enrolled faces."


def calibration_create(*, actor, embedder: str | None = None, target_far: float | None = None) -> Calibration:  # type: ignore[no-untyped-def]
    calibration = Calibration.objects.create(
        created_by=actor, embedder=embedder or conf.embedder_name(), target_far=target_far or conf.target_far()
    )
    from faces.jobs import calibration_failed, calibration_run

    jobs.enqueue("faces", calibration_run, Calibration, calibration.pk, on_failure=calibration_failed)
    return calibration


def reference_set(embedder: str) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (N, d) and person ids (N,) of the reference faces of active people."""
    rows = list(
        Face.objects.filter(
            embedder=embedder,
            assignment__in=Assignment.references(),
            embedding__isnull=False,
            person__in=active_people(),
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
        distances = pairwise_distances(embeddings, embeddings)[i, j]
        threshold = calibrate(distances, same, calibration.target_far)
        buffer = io.BytesIO()
        roc_plot_png(distances, same, buffer, threshold=threshold, title=f"{calibration.embedder}: enrolled people")
        accepted = distances <= threshold
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
                roc=calibration.roc.name,
                finished_at=timezone.now(),
            )


def threshold_override_set(*, embedder: str, threshold: float | None, actor) -> None:  # type: ignore[no-untyped-def]
    """Set (or with None, remove) the manual threshold of ``embedder``."""
    if threshold is None:
        ThresholdOverride.objects.filter(embedder=embedder).delete()
        return
    if not 0.0 < threshold < 2.0:
        raise ValidationError("A cosine-distance threshold lies between 0 and 2.")
    ThresholdOverride.objects.update_or_create(embedder=embedder, defaults={"threshold": threshold, "set_by": actor})
