"""RQ jobs of the faces app: thin functions that take a row id and call the service.

Each job claims its row with a conditional update, so a job that runs twice does nothing the
second time; each has a module-level failure callback that marks the row failed.
"""

from __future__ import annotations

from rq.job import Job

from faces.models import Calibration, Clustering, FaceScan, Verification
from nstsite.jobs import TaskKind, current_worker_name, handle_failure, register


def face_scan_run(scan_id: int) -> None:
    from faces.services.scans import face_scan_run_body

    face_scan_run_body(scan_id, worker_name=current_worker_name())


def face_scan_failed(job: Job, connection, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
    handle_failure(FaceScan, job, exc_type, exc)


def verification_run(verification_id: int) -> None:
    from faces.services.verification import verification_run_body

    verification_run_body(verification_id, worker_name=current_worker_name())


def verification_failed(job: Job, connection, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
    handle_failure(Verification, job, exc_type, exc)


def clustering_run(clustering_id: int) -> None:
    from faces.services.clusters import clustering_run_body

    clustering_run_body(clustering_id, worker_name=current_worker_name())


def clustering_failed(job: Job, connection, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
    handle_failure(Clustering, job, exc_type, exc)


def calibration_run(calibration_id: int) -> None:
    from faces.services.calibration import calibration_run_body

    calibration_run_body(calibration_id, worker_name=current_worker_name())


def calibration_failed(job: Job, connection, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
    handle_failure(Calibration, job, exc_type, exc)


# The reconciler restarts a queued row whose job the queue lost (nstsite.jobs.reconcile).
for _kind in (
    TaskKind(FaceScan, "faces", face_scan_run, face_scan_failed),
    TaskKind(Verification, "faces", verification_run, verification_failed),
    TaskKind(Clustering, "faces", clustering_run, clustering_failed),
    TaskKind(Calibration, "faces", calibration_run, calibration_failed),
):
    register(_kind)
