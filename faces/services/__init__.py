"""The faces app's workflows. The gallery calls :func:`face_scan_create` and :func:`photo_faces_delete`."""

from faces.services.calibration import calibration_apply, calibration_create, threshold_override_set
from faces.services.clusters import clustering_create, suggestion_dismiss, suggestion_merge, suggestion_name
from faces.services.consent import (
    face_share,
    person_link,
    recognition_enabled,
    recognition_set,
    shared_face_enroll,
)
from faces.services.identify import threshold_for
from faces.services.people import (
    enroll_choose,
    event_undo,
    face_assign,
    face_confirm,
    face_name,
    face_reject,
    people_delete,
    people_in_photos,
    people_of,
    person_create,
    person_delete,
    person_enroll,
    person_merge,
    person_update,
    photos_with_people,
)
from faces.services.reidentify import reidentification_create
from faces.services.scans import RecognitionOff, face_scan_create, latest_scan, photo_faces_delete, upload_create
from faces.services.verification import verification_create

__all__ = [
    "RecognitionOff",
    "calibration_apply",
    "calibration_create",
    "clustering_create",
    "enroll_choose",
    "event_undo",
    "face_assign",
    "face_confirm",
    "face_name",
    "face_reject",
    "face_scan_create",
    "face_share",
    "latest_scan",
    "people_delete",
    "people_in_photos",
    "people_of",
    "person_create",
    "person_delete",
    "person_enroll",
    "person_link",
    "person_merge",
    "person_update",
    "photo_faces_delete",
    "photos_with_people",
    "recognition_enabled",
    "recognition_set",
    "reidentification_create",
    "shared_face_enroll",
    "suggestion_dismiss",
    "suggestion_merge",
    "suggestion_name",
    "threshold_for",
    "threshold_override_set",
    "upload_create",
    "verification_create",
]
