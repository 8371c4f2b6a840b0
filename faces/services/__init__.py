"""The faces app's workflows. The gallery calls :func:`face_scan_create` and :func:`photo_faces_delete`."""

from faces.services.calibration import calibration_create, threshold_override_set
from faces.services.clusters import clustering_create, suggestion_dismiss, suggestion_merge, suggestion_name
from faces.services.identify import threshold_for
from faces.services.people import (
    enroll_choose,
    event_undo,
    face_assign,
    face_confirm,
    face_reject,
    people_delete,
    person_create,
    person_delete,
    person_enroll,
    person_merge,
    person_update,
)
from faces.services.scans import face_scan_create, latest_scan, photo_faces_delete, upload_create
from faces.services.verification import verification_create

__all__ = [
    "calibration_create",
    "clustering_create",
    "enroll_choose",
    "event_undo",
    "face_assign",
    "face_confirm",
    "face_reject",
    "face_scan_create",
    "latest_scan",
    "people_delete",
    "person_create",
    "person_delete",
    "person_enroll",
    "person_merge",
    "person_update",
    "photo_faces_delete",
    "suggestion_dismiss",
    "suggestion_merge",
    "suggestion_name",
    "threshold_for",
    "threshold_override_set",
    "upload_create",
    "verification_create",
]
