"""The calibration job: a per-embedder threshold from the directory's enrolled people, for a target false-accept rate.

Every pair of directory reference faces (enrolled; users' private confirmations are not used) is
a genuine pair (same person) or an impostor pair; :func:`ml.faces.evaluate.calibrate` picks the
largest threshold whose FAR on the impostor pairs is at most the target. A FAR of ``f`` cannot be
estimated from fewer than ``1/f`` impostor pairs, so such a calibration is refused with that
reason. A finished calibration is a proposal — its TAR/FAR and how many current names would turn
unknown (or appear) are shown — and is used only once staff apply it (:func:`calibration_apply`).
"""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.db import transaction

from faces.errors import MIN_GENUINE_PAIRS, NotEnoughPairs, NotEnoughPeople
from faces.models import Assignment, Calibration, Face
from faces.selectors import reference_set
from ml.faces.evaluate import all_pairs, calibrate, roc_plot_png
from ml.faces.metrics import auc
from ml.faces.verify import pairwise_distances


def calibration_execute(calibration_id: int) -> None:
    """The job's work on its claimed calibration: measure the directory's pairs and propose a threshold."""
    calibration = Calibration.objects.get(pk=calibration_id)
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
        Calibration.succeed(
            calibration_id,
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
        )
