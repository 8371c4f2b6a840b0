"""What the gallery asks of the faces app: the one module it may import from ``faces``.

Scan-on-upload, erasing a deleted photo's faces, and the people filter of the gallery page. Keeping
the seam to these three functions lets the faces app change shape without the gallery noticing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faces import conf
from faces.models import FaceSettings
from faces.selectors import people_in_photos, photos_with_people
from faces.services.scans import face_scan_create, photo_faces_delete

if TYPE_CHECKING:
    from gallery.models import Photo

# The people filter of the gallery page: everyone named in a user's photos, and photos narrowed to
# those where all the chosen people are named.
__all__ = ["people_in_photos", "photo_deleting", "photo_uploaded", "photos_with_people"]


def photo_uploaded(*, photo: Photo) -> None:
    """A photo was stored: queue its face scan (when scanning on upload is on and its owner has
    recognition on; off, nothing is computed for them). Call inside the upload's transaction."""
    if conf.detect_on_upload() and FaceSettings.recognition_on(photo.owner_id):
        face_scan_create(photo=photo)


def photo_deleting(*, photo: Photo) -> int:
    """A photo is about to be deleted: erase its faces, embeddings and crops; returns how many faces."""
    return photo_faces_delete(photo=photo)
