"""The faces app's workflows: every change to faces, people, scans and thresholds goes through here.

Views, the API and commands call these; the gallery reaches the faces app through ``faces.hooks`` only.
"""

from faces.errors import RecognitionOff
from faces.identify import threshold_for
from faces.references import reidentification_create
from faces.services.calibration import calibration_apply, calibration_create, threshold_override_set
from faces.services.clusters import (
    clustering_create,
    suggestion_decide,
    suggestion_dismiss,
    suggestion_merge,
    suggestion_name,
)
from faces.services.consent import (
    face_share,
    person_link,
    recognition_enabled,
    recognition_set,
    shared_face_enroll,
)
from faces.services.people import (
    enroll_choose,
    enrollment_import,
    event_undo,
    face_assign,
    face_confirm,
    face_name,
    face_reject,
    people_delete,
    person_create,
    person_delete,
    person_enroll,
    person_merge,
    person_update,
)
from faces.services.scans import (
    face_scan_create,
    identification_create,
    photo_faces_delete,
    upload_create,
    upload_scan_create,
)
from faces.services.verification import verification_create, verification_request

__all__ = [
    "RecognitionOff",
    "calibration_apply",
    "calibration_create",
    "clustering_create",
    "enroll_choose",
    "enrollment_import",
    "event_undo",
    "face_assign",
    "face_confirm",
    "face_name",
    "face_reject",
    "face_scan_create",
    "face_share",
    "identification_create",
    "people_delete",
    "person_create",
    "person_delete",
    "person_enroll",
    "person_link",
    "person_merge",
    "person_update",
    "photo_faces_delete",
    "recognition_enabled",
    "recognition_set",
    "reidentification_create",
    "shared_face_enroll",
    "suggestion_decide",
    "suggestion_dismiss",
    "suggestion_merge",
    "suggestion_name",
    "threshold_for",
    "threshold_override_set",
    "upload_create",
    "upload_scan_create",
    "verification_create",
    "verification_request",
]
