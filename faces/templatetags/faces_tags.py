"""``{% load faces_tags %}{% photo_faces photo %}``: a photo with its face boxes, names and controls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import template
from django.urls import reverse

from faces.models import Assignment, EventAction, Face, FaceScan, PeopleEvent
from faces.selectors import active_people

if TYPE_CHECKING:
    from gallery.models import Photo

register = template.Library()


def face_entries(faces: list[Face], width: int, height: int) -> list[dict[str, Any]]:
    entries = []
    for face in faces:
        identified = face.assignment in (Assignment.AUTO, Assignment.CONFIRMED, Assignment.ENROLLED)
        entries.append(
            {
                "face": face,
                "box": face.box_percent(width, height),
                "identified": identified,
                "maybe": face.assignment == Assignment.SUGGESTED,
                "label": face.person.name if identified and face.person else "unknown",
            }
        )
    return entries


@register.inclusion_tag("faces/_photo_faces.html", takes_context=True)
def photo_faces(context: template.Context, photo: Photo) -> dict[str, Any]:
    """The photo with boxes + names (or "unknown"), the scan status, and — for the photo's owner —
    confirm / correct / "not this person" controls. Shows nothing to anyone but the owner."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    is_owner = bool(user and user.is_authenticated and photo.owner_id == user.pk)
    if user is None or not is_owner:  # (is_owner already implies a user; this tells mypy)
        return {"visible": False}
    faces = list(Face.objects.filter(photo=photo).select_related("person").order_by("x1", "id"))
    scan = FaceScan.objects.filter(photo=photo).order_by("-created", "-id").first()
    # The names this user can pick: their own people and the directory's visible ones.
    names = sorted(set(active_people().visible_to(user).filter(hidden=False).values_list("name", flat=True)))
    entries = face_entries(faces, photo.width, photo.height)
    # The last naming or "not this person" of each face can be undone right here.
    undo: dict[int, PeopleEvent] = {}
    for event in PeopleEvent.objects.filter(
        owner=user, undone__isnull=True, action__in=[EventAction.REASSIGN, EventAction.REJECT],
        details__face__in=[f.pk for f in faces],
    ).order_by("id"):  # fmt: skip
        undo[int(event.details["face"])] = event
    for entry in entries:
        entry["undo"] = undo.get(entry["face"].pk)
    return {
        "visible": True,
        "photo": photo,
        "image_url": reverse("faces:photo-image", args=[photo.pk]),
        "entries": entries,
        "scan": scan,
        "scan_url": reverse("api-faces-scan-detail", args=[scan.pk]) if scan else "",
        "rescan_url": reverse("faces:photo-scan", args=[photo.pk]),
        "next": request.get_full_path() if request else "",
        "names": names,
        "csrf_token": context.get("csrf_token"),
        "editable": True,
        "datalist_id": f"faces-names-{photo.pk}",
        "show_numbers": user.is_staff,  # distances and thresholds are for staff; users get words
    }


@register.inclusion_tag("faces/_upload_faces.html", takes_context=True)
def upload_faces(context: template.Context, scan: FaceScan) -> dict[str, Any]:
    """Boxes and names over a one-off identification upload (read-only)."""
    upload = scan.upload
    if upload is None:
        raise ValueError("upload_faces shows the scan of an upload")
    user = context.get("user")
    faces = list(Face.objects.filter(upload=upload).select_related("person").order_by("x1", "id"))
    return {
        "scan": scan,
        "image_url": reverse("faces:upload-image", args=[upload.pk]),
        "entries": face_entries(faces, upload.width, upload.height),
        "scan_url": reverse("api-faces-scan-detail", args=[scan.pk]),
        "show_numbers": bool(user and user.is_staff),
    }
