"""RQ jobs of the faces app: thin functions that take a row id; the work is in ``faces/runs/``.

Each job claims its row through :func:`nstsite.jobs.run_task` (a job that runs twice does nothing
the second time) and fails it through the one failure callback, ``nstsite.jobs.task_failed``.
Services enqueue with ``<KIND>.send(pk)``; this is the only module that imports ``faces.runs``,
and only inside the jobs, so a web process never loads the models' code.
"""

from __future__ import annotations

from faces.models import Calibration, Clustering, FaceScan, Reidentification, Verification
from nstsite.jobs import TaskKind, register, run_task

QUEUE = "faces"  # every face job (a key of settings.RQ_QUEUES)


def face_scan_run(scan_id: int) -> None:
    from faces.runs.scans import face_scan_execute

    run_task(FaceScan, scan_id, face_scan_execute)


def verification_run(verification_id: int) -> None:
    from faces.runs.verification import verification_execute

    run_task(Verification, verification_id, verification_execute)


def clustering_run(clustering_id: int) -> None:
    from faces.runs.clusters import clustering_execute

    run_task(Clustering, clustering_id, clustering_execute)


def calibration_run(calibration_id: int) -> None:
    from faces.runs.calibration import calibration_execute

    run_task(Calibration, calibration_id, calibration_execute)


def reidentification_run(run_id: int) -> None:
    from faces.runs.reidentify import reidentification_execute

    run_task(Reidentification, run_id, reidentification_execute)


# The reconciler restarts a queued row whose job the queue lost (nstsite.jobs.reconcile).
FACE_SCANS = register(TaskKind(FaceScan, QUEUE, face_scan_run))
VERIFICATIONS = register(TaskKind(Verification, QUEUE, verification_run))
CLUSTERINGS = register(TaskKind(Clustering, QUEUE, clustering_run))
CALIBRATIONS = register(TaskKind(Calibration, QUEUE, calibration_run))
REIDENTIFICATIONS = register(TaskKind(Reidentification, QUEUE, reidentification_run))
