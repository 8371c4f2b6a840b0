"""Unknown faces: "who is this?" groups to name or dismiss, merge suggestions to accept, and full regroupings.

Clustering runs *per owner* (the job: ``faces/runs/clusters.py``, which also places each new
photo's unknown faces at once): each user's unknown faces are grouped only with their own, and the
groups are theirs to name or dismiss; staff cluster only the directory's enrollment photos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.identify import threshold_for
from faces.jobs import CLUSTERINGS
from faces.models import Clustering, PeopleEvent, Person, Suggestion, SuggestionKind, SuggestionStatus
from faces.references import face_enroll
from faces.selectors import person_by_name
from faces.services.people import face_assign, person_create, person_merge

if TYPE_CHECKING:
    from django.contrib.auth.models import User

if TYPE_CHECKING:
    pass


def clustering_create(
    *, actor: User, owner: User | None = None, eps: float | None = None, min_faces: int | None = None
) -> Clustering:
    """Regroup ``owner``'s unknown faces (``owner`` None: the directory's, staff only)."""
    embedder = conf.embedder_name()
    eps = eps or conf.cluster_eps() or threshold_for(embedder).value
    clustering = Clustering.objects.create(
        created_by=actor, owner=owner, embedder=embedder, eps=eps, min_faces=min_faces or conf.cluster_min_faces()
    )
    CLUSTERINGS.send(clustering.pk)
    return clustering


@transaction.atomic
def suggestion_name(*, suggestion: Suggestion, actor: User, name: str = "", person: Person | None = None) -> Person:
    """Name a group of unknown faces: a new person (``name``) or an existing ``person`` — of the
    group's owner (a user's group names their people; a directory group enrolls directory people).

    One face per photo: where the group holds several faces of one photo, only the first is named.
    """
    if suggestion.kind != SuggestionKind.CLUSTER or suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion is not an open group of faces.")
    if person is None:
        found = person_by_name(name, user=suggestion.owner) if suggestion.owner is not None else None
        person = found or person_create(name=name, actor=actor, owner=suggestion.owner)
    elif person.owner_id not in (suggestion.owner_id, None) or (suggestion.owner_id is None and person.owner_id):
        raise ValidationError("No such person.")
    seen_photos: set[int] = set()
    for face in suggestion.faces.filter(person__isnull=True).order_by("id"):
        key = face.photo_id or -(face.upload_id or 0)
        if key in seen_photos or face.rejected.filter(pk=person.pk).exists():
            continue
        seen_photos.add(key)
        try:
            if suggestion.owner_id is None:
                face_enroll(face=face, person=person, actor=actor)
            else:
                face_assign(face=face, person=person, actor=actor)
        except ValidationError:
            continue  # the person is already named in that photo
    suggestion.status, suggestion.decided = SuggestionStatus.ACCEPTED, timezone.now()
    suggestion.save(update_fields=["status", "decided"])
    return person


@transaction.atomic
def suggestion_dismiss(*, suggestion: Suggestion, actor: User) -> Suggestion:
    if suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion was already decided.")
    suggestion.status, suggestion.decided = SuggestionStatus.DISMISSED, timezone.now()
    suggestion.save(update_fields=["status", "decided"])
    return suggestion


@transaction.atomic
def suggestion_merge(*, suggestion: Suggestion, actor: User) -> PeopleEvent:
    """Accept a merge suggestion: person_b goes into person_a (undo from the audit log)."""
    a, b = suggestion.person_a, suggestion.person_b
    if suggestion.kind != SuggestionKind.MERGE or suggestion.status != SuggestionStatus.OPEN or a is None or b is None:
        raise ValidationError("This suggestion is not an open merge.")
    event = person_merge(source=b, target=a, actor=actor)
    Suggestion.objects.filter(pk=suggestion.pk).update(status=SuggestionStatus.ACCEPTED, decided=timezone.now())
    return event


DECISIONS = ("name", "merge", "dismiss")


def suggestion_decide(
    *, suggestion: Suggestion, decision: str, actor: User, name: str = ""
) -> Person | PeopleEvent | Suggestion:
    """A user's (or, for the directory's, staff's) answer to an open suggestion: ``name`` the group
    (a new or existing person called ``name``), ``merge`` the two people, or ``dismiss`` it.

    Pages of users and of staff both come here, so both refuse a suggestion already decided.
    Returns what the decision made: the person named, the merge's audit event, or the suggestion.
    """
    if suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion was already decided.")
    if decision == "name":
        return suggestion_name(suggestion=suggestion, name=name, actor=actor)
    if decision == "merge":
        return suggestion_merge(suggestion=suggestion, actor=actor)
    if decision == "dismiss":
        return suggestion_dismiss(suggestion=suggestion, actor=actor)
    raise ValidationError(f"Decide one of: {', '.join(DECISIONS)}.")
