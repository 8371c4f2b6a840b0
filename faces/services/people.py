"""People: the staff directory and each user's own people, faces named and corrected by their owners.

Whose answer counts where:

* A face's owner names, confirms, corrects and rejects faces on *their* photos only; a naming
  makes the face ``confirmed``, a reference for that owner's identification and nobody else's
  (see :mod:`faces.identify`). Naming with a new name creates one of the owner's people.
* Staff manage the directory (people with no owner): enrollment, rename, merge, hide, delete.
  Nothing a normal user does changes the directory; a face a user *shared* (consent, off by
  default) may be enrolled into it by staff.
* A merge moves the source's faces and enrollment photos to the target and keeps the source row
  (``merged_into``) so :func:`event_undo` can move exactly those back. People seen together in
  one photo are different people, so such a merge is refused. Only people of one owner merge.
* Deleting a person unlinks the faces on users' photos (they become unknown) and erases the
  directory's enrollment photos and faces; the audit log keeps names and counts, never vectors.
* Every edit is an audit event owned by whose people it was about; namings, "not this person",
  renames and merges can be undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.detection import detect_and_embed, store_detections
from faces.identify import FaceQuery, identify, threshold_for
from faces.models import (
    Assignment,
    EventAction,
    Face,
    FaceScan,
    PeopleEvent,
    Person,
    Suggestion,
    SuggestionStatus,
    Upload,
    UploadPurpose,
)
from faces.references import face_enroll, reidentification_create
from faces.selectors import directory_people, person_by_name, photos_together
from faces.services.scans import upload_create, upload_scan_create
from ml.images import open_image
from nstsite.uploads import UploadError

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def log_event(
    action: str,
    actor: User,
    person: Person | None,
    other: Person | None = None,
    *,
    owner_id: int | None = -1,
    **details: object,
) -> PeopleEvent:
    """Log an edit; ``owner_id`` defaults to the person's owner (None: a directory event)."""
    if owner_id == -1:
        owner_id = person.owner_id if person is not None else None
    return PeopleEvent.objects.create(
        action=action,
        owner_id=owner_id,
        actor=actor if getattr(actor, "pk", None) else None,
        person=person,
        other=other,
        person_name=person.name if person else "",
        other_name=other.name if other else "",
        details=details,
    )  # fmt: skip


def reidentify_for_person(person: Person, embedder: str | None = None, reason: str = "") -> None:
    """``person`` gained references: queue a pass over the faces that may now be theirs."""
    reidentification_create(owner_id=person.owner_id, embedder=embedder or conf.embedder_name(), reason=reason)


# --- staff: the people database ---------------------------------------------------------------


@transaction.atomic
def person_create(*, name: str, actor: User, notes: str = "", owner: User | None = None) -> Person:
    """A directory entry (``owner`` None, staff only) or one of ``owner``'s people."""
    name = name.strip()
    if not name:
        raise ValidationError("A person needs a name.")
    if owner is None and not getattr(actor, "is_staff", False) and actor is not None:
        raise PermissionDenied("Only staff add people to the directory.")
    person = Person.objects.create(name=name[:200], notes=notes, created_by=actor, owner=owner)
    log_event(EventAction.CREATE, actor, person)
    return person


def person_enroll(*, person: Person, files: Iterable[UploadedFile], actor: User) -> tuple[list[FaceScan], list[str]]:
    """Store enrollment photos of directory ``person`` and queue a scan of each; returns (scans, errors)."""
    if not person.in_directory:
        raise ValidationError("Only directory people are enrolled from photos; name your people on your photos.")
    scans, errors = [], []
    for file in files:
        try:
            scans.append(upload_scan_create(owner=actor, file=file, purpose=UploadPurpose.ENROLL, person=person))
        except UploadError as exc:
            errors.append(str(exc))
    return scans, errors


def enrollment_import(*, person_name: str, data: bytes, file_name: str, actor: User, largest: bool = False) -> str:
    """Enroll one photo file of the directory person called ``person_name`` (created on first use),
    running the detector and embedder in this process: for a command, never a web request.

    The photo takes the same path as one a worker scans: a stored upload, a scan claimed here and
    marked succeeded, the (largest) face enrolled. Returns why it was skipped, or "" when enrolled.
    """
    try:
        image = open_image(data)
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"
    embedder = conf.embedder_name()
    detections = detect_and_embed(image, embedder)
    if not detections:
        return "no face found"
    if len(detections) > 1 and not largest:
        return f"{len(detections)} faces (use --largest, or enroll it on the person page)"
    with transaction.atomic():
        name = person_name.strip()
        # The directory's entry of that name, never a user's private person who happens to share it.
        found = directory_people().filter(name__iexact=name).order_by("id").first()
        person = found or person_create(name=name, actor=actor)
        try:
            upload = upload_create(owner=actor, file=data, purpose=UploadPurpose.ENROLL, person=person, name=file_name)
        except UploadError as exc:
            return str(exc)
        if Upload.objects.filter(person=person, sha256=upload.sha256).exclude(pk=upload.pk).exists():
            upload.delete()
            return "already enrolled"
        scan = FaceScan.objects.create(owner=actor, upload=upload, embedder=embedder)
        FaceScan.claim(scan.pk, worker_name="import_people")
        main = max(detections, key=lambda d: d.face.width * d.face.height)
        face_enroll(face=store_detections(scan, image, [main])[0], person=person, actor=actor)
        FaceScan.succeed(scan.pk, face_count=len(detections))
    return ""


@transaction.atomic
def enroll_choose(*, face: Face, actor: User) -> Face:
    """Staff picked which face of a multi-face enrollment photo is the person; the others go."""
    upload = face.upload
    if upload is None or upload.purpose != UploadPurpose.ENROLL or upload.person is None:
        raise ValidationError("This face is not on an enrollment photo.")
    face_enroll(face=face, person=upload.person, actor=actor)
    # The other people in the photo did not consent to enrollment: do not keep their faces.
    upload.faces.exclude(pk=face.pk).filter(person__isnull=True).delete()
    upload.scans.update(notice="")
    return face


@transaction.atomic
def person_update(
    *, person: Person, actor: User, name: str | None = None, notes: str | None = None, hidden: bool | None = None
) -> Person:
    if name is not None and name.strip() and name.strip() != person.name:
        old = person.name
        person.name = name.strip()[:200]
        person.save(update_fields=["name", "updated"])
        log_event(EventAction.RENAME, actor, person, old=old, new=person.name)
    if hidden is False and person.hidden:
        reidentify_for_person(person, reason="shown again")
    if notes is not None and notes != person.notes:
        person.notes = notes
        person.save(update_fields=["notes", "updated"])
    if hidden is not None and hidden != person.hidden:
        person.hidden = hidden
        person.save(update_fields=["hidden", "updated"])
        log_event(EventAction.HIDE if hidden else EventAction.UNHIDE, actor, person)
    return person


@transaction.atomic
def person_merge(*, source: Person, target: Person, actor: User) -> PeopleEvent:
    """Merge ``source`` into ``target``; undo with :func:`event_undo` on the returned event."""
    source = Person.objects.select_for_update().get(pk=source.pk)
    target = Person.objects.select_for_update().get(pk=target.pk)
    if source.pk == target.pk:
        raise ValidationError("A person cannot be merged into themselves.")
    if source.merged_into_id or target.merged_into_id:
        raise ValidationError("One of these people was already merged into someone else.")
    if source.owner_id != target.owner_id:
        raise ValidationError("Only people of the same list can be merged.")
    together = photos_together(source, target)
    if together:
        raise ValidationError(
            f"{source.name} and {target.name} appear together in {len(together)} photo(s), so they are two "
            "different people. Correct those faces first if one of them is wrong."
        )
    face_ids = list(source.faces.values_list("id", flat=True))
    upload_ids = list(source.uploads.values_list("id", flat=True))
    # Faces that said "not <source>" now also say "not <target>"; remember which, to undo exactly.
    through = Face.rejected.through
    rejecting = set(through.objects.filter(person=source).values_list("face_id", flat=True))
    already = set(through.objects.filter(person=target, face_id__in=rejecting).values_list("face_id", flat=True))
    added = sorted(rejecting - already)
    through.objects.bulk_create([through(face_id=f, person_id=target.pk) for f in added])
    Face.objects.filter(id__in=face_ids).update(person=target, updated=timezone.now())
    Upload.objects.filter(id__in=upload_ids).update(person=target)
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated"])
    Suggestion.objects.filter(
        status=SuggestionStatus.OPEN, kind="merge", person_a__in=[source, target], person_b__in=[source, target]
    ).update(status=SuggestionStatus.ACCEPTED, decided=timezone.now())
    Person.objects.filter(directory_person=source).update(directory_person=target)
    reidentify_for_person(target, reason="merge")
    return log_event(
        EventAction.MERGE, actor, target, source, faces=face_ids, uploads=upload_ids, rejections_added=added
    )


@transaction.atomic
def event_undo(*, event: PeopleEvent, actor: User) -> PeopleEvent:
    """Undo a merge (the moved faces and photos go back, the source person returns), a rename, a
    naming (the face gets its previous name back) or a "not this person" (the rejection goes)."""
    event = PeopleEvent.objects.select_for_update().get(pk=event.pk)
    if event.undone is not None:
        raise ValidationError("This change was already undone.")
    if event.action in (EventAction.REASSIGN, EventAction.REJECT, EventAction.CONFIRM):
        undo = _face_event_undo(event, actor)
        event.undone = timezone.now()
        event.save(update_fields=["undone"])
        return undo
    if event.person is None:
        raise ValidationError("The person this change was about has been deleted since.")
    if event.action == EventAction.RENAME:
        person = event.person
        if person.name == event.details.get("new"):
            person.name = event.details.get("old", person.name)
            person.save(update_fields=["name", "updated"])
        undo = log_event(
            EventAction.RENAME, actor, person, old=event.details.get("new"), new=person.name, undoes=event.pk
        )
    elif event.action == EventAction.MERGE:
        target, source = event.person, event.other
        if source is None:
            raise ValidationError("The merged person has been deleted since; the merge cannot be undone.")
        details = event.details
        Face.objects.filter(id__in=details.get("faces", []), person=target).update(
            person=source, updated=timezone.now()
        )
        Upload.objects.filter(id__in=details.get("uploads", []), person=target).update(person=source)
        Face.rejected.through.objects.filter(face_id__in=details.get("rejections_added", []), person=target).delete()
        source.merged_into = None
        source.save(update_fields=["merged_into", "updated"])
        undo = log_event(EventAction.UNMERGE, actor, target, source, undoes=event.pk)
    else:
        raise ValidationError("Only merges, renames, namings and rejections can be undone.")
    event.undone = timezone.now()
    event.save(update_fields=["undone"])
    return undo


@transaction.atomic
def person_delete(*, person: Person, actor: User) -> dict[str, int]:
    """Delete ``person`` and the people merged into them.

    Faces on users' photos are *unlinked* (they become unknown, and stay); the directory's
    enrollment photos go with their faces, embeddings and crops (files after commit, through
    the ``post_delete`` receivers). Returns what was done.
    """
    ids = [person.pk]
    frontier = [person.pk]
    while frontier:
        frontier = list(Person.objects.filter(merged_into_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    uploads = Upload.objects.filter(person_id__in=ids)
    photos = uploads.count()
    enrolled, _ = Face.objects.filter(upload__in=uploads).delete()
    uploads.delete()  # with the bystander faces on them
    unlinked = Face.objects.filter(person_id__in=ids).update(
        person=None, assignment=Assignment.NONE, distance=None, suggestion=None, updated=timezone.now()
    )
    name, owner_id = person.name, person.owner_id
    Person.objects.filter(id__in=ids).delete()
    counts = {"faces": enrolled, "unlinked": unlinked, "photos": photos, "people": len(ids)}
    PeopleEvent.objects.create(
        action=EventAction.DELETE,
        owner_id=owner_id,
        actor=actor if getattr(actor, "pk", None) else None,
        person_name=name,
        details=counts,
    )
    return counts


def people_delete(*, people: Iterable[Person], actor: User) -> int:
    count = 0
    for person in list(people):
        if Person.objects.filter(pk=person.pk).exists():  # may have gone with a merged-into target
            person_delete(person=person, actor=actor)
            count += 1
    return count


# --- photo owners: name, confirm, correct, "not this person" --------------------------------


def _check_assignable(person: Person, face: Face) -> None:
    if person.merged_into_id is not None:
        raise ValidationError(f"{person.name} was merged into {person.merged_into}.")
    if person.owner_id is not None and person.owner_id != face.owner_id:
        # Services are called with objects the caller may see; this is the last line of defence.
        raise PermissionDenied("This person is not one of the photo owner's people.")


def _face_state(face: Face) -> dict[str, object]:
    return {"person": face.person_id, "assignment": face.assignment, "distance": face.distance}


@transaction.atomic
def face_confirm(*, face: Face, actor: User) -> Face:
    """The owner says the name is right: the face becomes a reference for the owner's photos."""
    if face.person is None:
        raise ValidationError("There is no name to confirm on this face.")
    _check_assignable(face.person, face)
    before = _face_state(face)
    face.assignment = Assignment.CONFIRMED
    face.assigned_by = actor
    face.save(update_fields=["assignment", "assigned_by", "updated"])
    log_event(EventAction.CONFIRM, actor, face.person, owner_id=face.owner_id, face=face.pk, before=before)
    reidentification_create(owner_id=face.owner_id, embedder=face.embedder, reason="confirmation")
    return face


@transaction.atomic
def face_assign(*, face: Face, person: Person, actor: User) -> Face:
    """Name ``face`` as ``person`` (one of the owner's people or a directory entry): confirmed,
    kept by later automatic runs, and a reference for the owner's photos only."""
    _check_assignable(person, face)
    source = {"photo_id": face.photo_id} if face.photo_id else {"upload_id": face.upload_id}
    clash = Face.objects.filter(person=person, **source).exclude(pk=face.pk).first()
    if clash is not None:
        if clash.is_kept:
            raise ValidationError(f"{person.name} is already named on another face in this photo.")
        clash.person, clash.assignment, clash.distance = None, Assignment.NONE, None
        clash.save(update_fields=["person", "assignment", "distance", "updated"])
    previous = face.person
    before = _face_state(face)
    face.person = person
    face.assignment = Assignment.CONFIRMED
    face.distance = None
    face.assigned_by = actor
    face.suggestion = None
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "suggestion", "updated"])
    face.rejected.remove(person)
    if person.cover_id is None and face.crop and person.owner_id == face.owner_id:
        Person.objects.filter(pk=person.pk).update(cover=face)
    log_event(EventAction.REASSIGN, actor, person, previous, owner_id=face.owner_id, face=face.pk, before=before)
    reidentification_create(owner_id=face.owner_id, embedder=face.embedder, reason="naming")
    return face


@transaction.atomic
def face_name(*, face: Face, name: str, actor: User) -> Face:
    """ "Who is this?" with a typed name: the owner's person of that name, else a visible directory
    entry of that name, else a new person of the owner's — one tap, no staff needed."""
    name = name.strip()
    if not name:
        raise ValidationError("Type a name.")
    owner = face.owner
    person = person_by_name(name, user=owner)
    if person is None:
        person = person_create(name=name, actor=actor, owner=owner)
    return face_assign(face=face, person=person, actor=actor)


@transaction.atomic
def face_reject(*, face: Face, actor: User) -> PeopleEvent:
    """ "Not this person": remembered for this face (the owner's word, nobody else's), then the
    next candidate is looked for (SQL only). ``face`` is updated in place; the returned event is
    what "undo" takes back."""
    person = face.person
    if person is None:
        raise ValidationError("This face has no name to reject.")
    before = _face_state(face)
    face.rejected.add(person)
    face.person, face.assignment, face.distance, face.assigned_by = None, Assignment.NONE, None, actor
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    event = log_event(EventAction.REJECT, actor, person, owner_id=face.owner_id, face=face.pk, before=before)
    reidentify(face)
    return event


def _face_event_undo(event: PeopleEvent, actor: User) -> PeopleEvent:
    """Put a face back as it was before a naming, confirmation or rejection."""
    face = Face.objects.filter(pk=event.details.get("face")).first()
    if face is None:
        raise ValidationError("That face no longer exists.")
    before = event.details.get("before") or {}
    if event.action == EventAction.REJECT and event.person_id is not None:
        face.rejected.remove(event.person_id)
    person_id = before.get("person")
    if person_id is not None and not Person.objects.filter(pk=person_id, merged_into__isnull=True).exists():
        person_id = None  # that person is gone since: the face goes back to unknown
    if person_id is not None:
        # The restored name must not clash with another kept face of the photo.
        source = {"photo_id": face.photo_id} if face.photo_id else {"upload_id": face.upload_id}
        others = Face.objects.filter(person_id=person_id, **source).exclude(pk=face.pk)
        if others.filter(assignment__in=Assignment.kept()).exists():
            person_id = None
        else:
            others.update(person=None, assignment=Assignment.NONE, distance=None, updated=timezone.now())
    face.person_id = person_id
    face.assignment = str(before.get("assignment") or "") if person_id is not None else Assignment.NONE
    face.distance = before.get("distance") if person_id is not None else None
    face.assigned_by = actor
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    return log_event(EventAction.UNDO, actor, face.person, owner_id=event.owner_id, face=face.pk, undoes=event.pk)


def reidentify(face: Face) -> None:
    """Identify one face again against its owner's references (after a rejection), keeping the photo rule."""
    if face.embedding is None:
        return
    source = {"photo_id": face.photo_id} if face.photo_id else {"upload_id": face.upload_id}
    taken = set(
        Face.objects.filter(**source, person__isnull=False).exclude(pk=face.pk).values_list("person_id", flat=True)
    )
    rejected = set(face.rejected.values_list("id", flat=True))
    threshold = threshold_for(face.embedder).value
    query = FaceQuery(face.pk, np.asarray(face.embedding, dtype=np.float32), rejected)
    match = identify([query], embedder=face.embedder, threshold=threshold, taken=taken, owner_id=face.owner_id)[face.pk]
    if match is not None:
        face.person_id = match.person_id
        face.assignment = Assignment.AUTO if match.sure else Assignment.SUGGESTED
        face.distance = match.distance
        face.save(update_fields=["person", "assignment", "distance", "updated"])
