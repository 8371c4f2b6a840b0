"""What a user shares with the directory, and whether their faces are recognised at all.

* Linking: one of a user's people may be linked to the directory entry they are, only when a face
  the user named matches that entry by the threshold in force.
* Consent: a user may offer a named face to the directory (off by default); only offered faces
  are visible to staff, and staff may enroll only those. Withdrawing takes the face back out.
* Recognition off: every embedding of the user's faces is erased at once and none is computed
  for their photos afterwards (GDPR Art. 9 consent withdrawn as easily as given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.identify import threshold_for, vector_literal
from faces.models import Assignment, EventAction, Face, FaceScan, FaceSettings, Person, Suggestion, SuggestionStatus
from faces.references import face_enroll
from faces.services.people import log_event, reidentify_for_person

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def directory_match(*, person: Person, directory_person: Person) -> float | None:
    """The smallest distance between ``person``'s confirmed faces and ``directory_person``'s
    enrolled faces (exact, per face through the person filter), or None without faces to compare."""
    from django.db import connection

    from faces.vector_index import cast

    best: float | None = None
    embedder = conf.embedder_name()
    dim = conf.embedder_dim(embedder)
    rows = Face.objects.filter(
        person=person, owner_id=person.owner_id, embedder=embedder, embedding__isnull=False
    ).values_list("embedding", flat=True)
    with connection.cursor() as cursor:
        for embedding in rows[:50]:
            if embedding is None:  # (the filter excludes these; this tells the type checker)
                continue
            cursor.execute(
                f"SELECT min({cast(dim)} <=> %s::vector({dim})) FROM faces_face "  # noqa: S608 - int dim only
                "WHERE person_id = %s AND assignment = 'enrolled' AND embedder = %s",
                [vector_literal(embedding), directory_person.pk, embedder],
            )
            value = cursor.fetchone()[0]
            if value is not None and (best is None or value < best):
                best = float(value)
    return best


@transaction.atomic
def person_link(*, person: Person, directory_person: Person | None, actor: User) -> Person:
    """Link one of a user's people to the directory entry they are (or unlink with None).

    Allowed only when a face the user named as ``person`` matches ``directory_person`` by the
    threshold in force: a user cannot attach their name to just anyone in the directory.
    """
    if person.owner_id is None:
        raise ValidationError("Directory people are not linked to anyone.")
    if directory_person is not None:
        if not directory_person.in_directory or directory_person.hidden or directory_person.merged_into_id:
            raise ValidationError("No such person in the directory.")
        distance = directory_match(person=person, directory_person=directory_person)
        threshold = threshold_for(conf.embedder_name()).value
        if distance is None or distance > threshold:
            raise ValidationError(
                f"{person.name}'s faces do not match {directory_person.name} in the directory, so they cannot be linked."
            )
    person.directory_person = directory_person
    person.save(update_fields=["directory_person", "updated"])
    log_event(EventAction.LINK, actor, person, directory_person)
    if directory_person is not None:
        reidentify_for_person(person, reason="link")
    return person


@transaction.atomic
def face_share(*, face: Face, shared: bool, actor: User) -> Face:
    """The owner offers (or withdraws) a named face to the directory: consent, off by default.

    Withdrawing also takes it out of the directory if staff had enrolled it."""
    if face.owner_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the photo's owner can share a face.")
    if shared and face.person is None:
        raise ValidationError("Name this face before offering it to the directory.")
    face.shared = shared
    fields = ["shared", "updated"]
    if not shared and face.assignment == Assignment.ENROLLED and face.photo_id:
        face.person, face.assignment, face.distance = None, Assignment.NONE, None
        fields += ["person", "assignment", "distance"]
    face.save(update_fields=fields)
    return face


@transaction.atomic
def shared_face_enroll(*, face: Face, person: Person, actor: User) -> Face:
    """Staff enroll a face a user shared into directory ``person`` (never without the consent flag)."""
    face = Face.objects.select_for_update().get(pk=face.pk)
    if not face.shared:
        raise PermissionDenied("This face was not shared by its owner.")
    if not person.in_directory:
        raise ValidationError("Faces are enrolled into directory people only.")
    face_enroll(face=face, person=person, actor=actor)
    return face


@transaction.atomic
def recognition_set(*, user: User, enabled: bool) -> int:
    """Turn face recognition on or off for ``user``. Off erases every embedding of their faces
    (names they gave stay as words; nothing is computed again) and stops their queued scans.
    Returns how many embeddings were erased."""
    FaceSettings.objects.update_or_create(user=user, defaults={"recognition": enabled})
    if enabled:
        return 0
    erased = Face.objects.filter(owner=user, embedding__isnull=False).update(embedding=None, updated=timezone.now())
    # Shared faces staff enrolled into the directory leave it: the consent is withdrawn too.
    Face.objects.filter(owner=user, assignment=Assignment.ENROLLED, photo__isnull=False).update(
        person=None, assignment=Assignment.NONE, distance=None, shared=False
    )
    Face.objects.filter(owner=user).update(shared=False)
    Suggestion.objects.filter(owner=user, status=SuggestionStatus.OPEN).delete()
    from nstsite.models import ACTIVE, TaskStatus

    FaceScan.objects.filter(owner=user, status__in=ACTIVE).update(
        status=TaskStatus.CANCELLED, finished_at=timezone.now()
    )
    return erased


def recognition_enabled(*, user: User) -> bool:
    return FaceSettings.recognition_on(user.pk)
