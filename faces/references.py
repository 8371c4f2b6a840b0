"""Reference faces: making a face a person's reference, and the re-identification that new
references (or a new threshold) call for.

Below the services and the job bodies alike (both enroll faces), so it enqueues through
``nstsite.jobs.send`` rather than importing ``faces.jobs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import Q

from faces.models import Assignment, EventAction, Face, PeopleEvent, Person, Reidentification
from faces.selectors import open_faces
from nstsite import jobs
from nstsite.models import TaskStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def face_enroll(*, face: Face, person: Person, actor: User) -> Face:
    """Make ``face`` a reference face of directory ``person`` (every user's identification compares
    with it, so it must never land in a user's private person)."""
    if not person.in_directory:
        raise ValidationError("Faces are enrolled into directory people only.")
    face.person = person
    face.assignment = Assignment.ENROLLED
    face.distance = None
    face.assigned_by = actor
    face.save(update_fields=["person", "assignment", "distance", "assigned_by", "updated"])
    face.rejected.remove(person)
    PeopleEvent.objects.create(
        action=EventAction.ENROLL, actor=actor, person=person, person_name=person.name, details={"face": face.pk}
    )
    # A new directory reference: every owner's unconfirmed faces may now be this person.
    reidentification_create(owner_id=None, embedder=face.embedder, reason="enrollment")
    return face


def reidentification_create(*, owner_id: int | None, embedder: str, reason: str = "") -> Reidentification | None:
    """Queue a pass over ``owner_id``'s unconfirmed faces (all owners' with None), after commit.

    Nothing is queued when there is nothing to re-identify; a pass still queued for the same
    owner is reused (it has not read anything yet, so it will see the new references).
    """
    if not open_faces(owner_id, embedder).exists():
        return None
    queued = Reidentification.objects.filter(
        Q(owner_id=owner_id) if owner_id is not None else Q(owner__isnull=True),
        embedder=embedder,
        status=TaskStatus.QUEUED,
    ).first()
    if queued is not None:
        return queued
    run = Reidentification.objects.create(owner_id=owner_id, embedder=embedder, reason=reason[:100])
    jobs.send(Reidentification, run.pk)
    return run
