"""People management (staff) and face corrections (photo owners), every edit written to the audit log.

* A merge moves the source's faces and enrollment photos to the target and keeps the source row
  (``merged_into``) so :func:`event_undo` can move exactly those back. People seen together in
  one photo are different people, so such a merge is refused.
* Deleting a person erases their faces (rows, embeddings, crop files) and enrollment photos, and
  the people merged into them; the audit log keeps the name and counts, never biometric data.
* Confirmations and corrections make a face *confirmed*; automatic runs never change those.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

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
from faces.services.identify import FaceQuery, identify, threshold_for
from faces.services.scans import face_enroll, face_scan_create, upload_create
from gallery.imaging import UploadError


def _event(action: str, actor, person: Person | None, other: Person | None = None, **details: object) -> PeopleEvent:  # type: ignore[no-untyped-def]
    return PeopleEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        person=person,
        other=other,
        person_name=person.name if person else "",
        other_name=other.name if other else "",
        details=details,
    )


def active_people():  # type: ignore[no-untyped-def]
    """People that exist in their own right (not merged into someone)."""
    return Person.objects.filter(merged_into__isnull=True)


# --- staff: the people database ---------------------------------------------------------------


@transaction.atomic
def person_create(*, name: str, actor, notes: str = "") -> Person:  # type: ignore[no-untyped-def]
    name = name.strip()
    if not name:
        raise ValidationError("A person needs a name.")
    person = Person.objects.create(name=name[:200], notes=notes, created_by=actor)
    _event(EventAction.CREATE, actor, person)
    return person


def person_enroll(*, person: Person, files: Iterable[UploadedFile], actor) -> tuple[list[FaceScan], list[str]]:  # type: ignore[no-untyped-def]
    """Store enrollment photos of ``person`` and queue a scan of each; returns (scans, errors)."""
    scans, errors = [], []
    for file in files:
        try:
            with transaction.atomic():
                upload = upload_create(owner=actor, file=file, purpose=UploadPurpose.ENROLL, person=person)
                scans.append(face_scan_create(upload=upload))
        except UploadError as exc:
            errors.append(str(exc))
    return scans, errors


@transaction.atomic
def enroll_choose(*, face: Face, actor) -> Face:  # type: ignore[no-untyped-def]
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
    *, person: Person, actor, name: str | None = None, notes: str | None = None, hidden: bool | None = None
) -> Person:  # type: ignore[no-untyped-def]
    if name is not None and name.strip() and name.strip() != person.name:
        old = person.name
        person.name = name.strip()[:200]
        person.save(update_fields=["name", "updated"])
        _event(EventAction.RENAME, actor, person, old=old, new=person.name)
    if notes is not None and notes != person.notes:
        person.notes = notes
        person.save(update_fields=["notes", "updated"])
    if hidden is not None and hidden != person.hidden:
        person.hidden = hidden
        person.save(update_fields=["hidden", "updated"])
        _event(EventAction.HIDE if hidden else EventAction.UNHIDE, actor, person)
    return person


def photos_together(a: Person, b: Person) -> list[int]:
    """Gallery photos and uploads where ``a`` and ``b`` both have a face (so they are two people)."""
    shared_photos = set(Face.objects.filter(person=a, photo__isnull=False).values_list("photo_id", flat=True)) & set(
        Face.objects.filter(person=b, photo__isnull=False).values_list("photo_id", flat=True)
    )
    return sorted(shared_photos)


@transaction.atomic
def person_merge(*, source: Person, target: Person, actor) -> PeopleEvent:  # type: ignore[no-untyped-def]
    """Merge ``source`` into ``target``; undo with :func:`event_undo` on the returned event."""
    source = Person.objects.select_for_update().get(pk=source.pk)
    target = Person.objects.select_for_update().get(pk=target.pk)
    if source.pk == target.pk:
        raise ValidationError("A person cannot be merged into themselves.")
    if source.merged_into_id or target.merged_into_id:
        raise ValidationError("One of these people was already merged into someone else.")
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
    return _event(EventAction.MERGE, actor, target, source, faces=face_ids, uploads=upload_ids, rejections_added=added)


@transaction.atomic
def event_undo(*, event: PeopleEvent, actor) -> PeopleEvent:  # type: ignore[no-untyped-def]
    """Undo a merge (the moved faces and photos go back, the source person returns) or a rename."""
    event = PeopleEvent.objects.select_for_update().get(pk=event.pk)
    if event.undone is not None:
        raise ValidationError("This change was already undone.")
    if event.person is None:
        raise ValidationError("The person this change was about has been deleted since.")
    if event.action == EventAction.RENAME:
        person = event.person
        if person.name == event.details.get("new"):
            person.name = event.details.get("old", person.name)
            person.save(update_fields=["name", "updated"])
        undo = _event(EventAction.RENAME, actor, person, old=event.details.get("new"), new=person.name, undoes=event.pk)
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
        undo = _event(EventAction.UNMERGE, actor, target, source, undoes=event.pk)
    else:
        raise ValidationError("Only merges and renames can be undone.")
    event.undone = timezone.now()
    event.save(update_fields=["undone"])
    return undo


@transaction.atomic
def person_delete(*, person: Person, actor) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Erase ``person``: faces, embeddings, crops, enrollment photos, and people merged into them.

    Files go after commit through the ``post_delete`` receivers. Returns what was erased.
    """
    ids = [person.pk]
    frontier = [person.pk]
    while frontier:
        frontier = list(Person.objects.filter(merged_into_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    faces, _ = Face.objects.filter(person_id__in=ids).delete()
    photos = Upload.objects.filter(person_id__in=ids).count()
    Upload.objects.filter(person_id__in=ids).delete()  # with the bystander faces on them
    name = person.name
    Person.objects.filter(id__in=ids).delete()
    counts = {"faces": faces, "photos": photos, "people": len(ids)}
    PeopleEvent.objects.create(
        action=EventAction.DELETE, actor=actor if getattr(actor, "pk", None) else None, person_name=name, details=counts
    )
    return counts


def people_delete(*, people: Iterable[Person], actor) -> int:  # type: ignore[no-untyped-def]
    count = 0
    for person in list(people):
        if Person.objects.filter(pk=person.pk).exists():  # may have gone with a merged-into target
            person_delete(person=person, actor=actor)
            count += 1
    return count


def people_with_counts():  # type: ignore[no-untyped-def]
    return active_people().annotate(face_count=Count("faces", distinct=True))


# --- photo owners: confirm, correct, "not this person" ----------------------------------------


def _check_assignable(person: Person) -> None:
    if person.merged_into_id is not None:
        raise ValidationError(f"{person.name} was merged into {person.merged_into}.")


@transaction.atomic
def face_confirm(*, face: Face, actor) -> Face:  # type: ignore[no-untyped-def]
    if face.person is None:
        raise ValidationError("There is no name to confirm on this face.")
    face.assignment = Assignment.CONFIRMED
    face.assigned_by = actor
    face.save(update_fields=["assignment", "assigned_by", "updated"])
    _event(EventAction.CONFIRM, actor, face.person, face=face.pk)
    return face


@transaction.atomic
def face_assign(*, face: Face, person: Person, actor) -> Face:  # type: ignore[no-untyped-def]
    """Name ``face`` as ``person`` (a correction): confirmed, and kept by later automatic runs."""
    _check_assignable(person)
    source = {"photo_id": face.photo_id} if face.photo_id else {"upload_id": face.upload_id}
    clash = Face.objects.filter(person=person, **source).exclude(pk=face.pk).first()
    if clash is not None:
        if clash.is_kept:
            raise ValidationError(f"{person.name} is already named on another face in this photo.")
        clash.person, clash.assignment, clash.distance = None, Assignment.NONE, None
        clash.save(update_fields=["person", "assignment", "distance", "updated"])
    previous = face.person
    face.person = person
    face.assignment = Assignment.CONFIRMED
    face.distance = None
    face.assigned_by = actor
    face.suggestion = None
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "suggestion", "updated"])
    face.rejected.remove(person)
    _event(EventAction.REASSIGN, actor, person, previous, face=face.pk)
    return face


@transaction.atomic
def face_reject(*, face: Face, actor) -> Face:  # type: ignore[no-untyped-def]
    """ "Not this person": remember it for good, then look for the next candidate (SQL only)."""
    person = face.person
    if person is None:
        raise ValidationError("This face has no name to reject.")
    face.rejected.add(person)
    face.person, face.assignment, face.distance, face.assigned_by = None, Assignment.NONE, None, actor
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    _event(EventAction.REJECT, actor, person, face=face.pk)
    reidentify(face)
    return face


def reidentify(face: Face) -> None:
    """Identify one face again against the references (after a rejection), keeping the photo rule."""
    if face.embedding is None:
        return
    source = {"photo_id": face.photo_id} if face.photo_id else {"upload_id": face.upload_id}
    taken = set(
        Face.objects.filter(**source, person__isnull=False).exclude(pk=face.pk).values_list("person_id", flat=True)
    )
    rejected = set(face.rejected.values_list("id", flat=True))
    threshold = threshold_for(face.embedder).value
    query = FaceQuery(face.pk, np.asarray(face.embedding, dtype=np.float32), rejected)
    match = identify([query], embedder=face.embedder, threshold=threshold, taken=taken)[face.pk]
    if match is not None:
        face.person_id = match.person_id
        face.assignment = Assignment.AUTO if match.sure else Assignment.SUGGESTED
        face.distance = match.distance
        face.save(update_fields=["person", "assignment", "distance", "updated"])


def person_by_name(name: str) -> Person | None:
    """The visible person called ``name`` (case-insensitive), for owners typing a correction."""
    return active_people().filter(hidden=False, name__iexact=name.strip()).order_by("id").first()
