"""Queries of the faces app, in one place: who and what a user, a page or a job may see.

Each returns a queryset (or plain values) and changes nothing; services, views, the API and the job
bodies all read through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db.models import Count, Q, QuerySet

from faces.models import Assignment, Face, Person, PersonQuerySet, Upload, UploadPurpose

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from gallery.models import Photo

OPEN_ASSIGNMENTS = (Assignment.NONE.value, Assignment.AUTO.value, Assignment.SUGGESTED.value)


def open_faces(owner_id: int | None, embedder: str) -> QuerySet[Face]:
    """Faces of ``owner_id`` (every owner's with None) that re-identification may change: unconfirmed ones."""
    faces = Face.objects.filter(
        embedder=embedder, embedding__isnull=False, photo__isnull=False, assignment__in=OPEN_ASSIGNMENTS
    )
    return faces.filter(owner_id=owner_id) if owner_id is not None else faces


def active_people() -> PersonQuerySet:
    """People that exist in their own right (not merged into someone)."""
    return Person.objects.filter(merged_into__isnull=True)


def directory_people() -> PersonQuerySet:
    return active_people().filter(owner__isnull=True)


def person_by_name(name: str, *, user: User) -> Person | None:
    """The person ``user`` means by ``name`` (case-insensitive): their own first, then the directory."""
    visible = active_people().visible_to(user).filter(name__iexact=name.strip())
    return (
        visible.filter(owner=user).order_by("id").first() or visible.filter(owner__isnull=True).order_by("id").first()
    )


def people_of(user: User) -> QuerySet[Person]:
    """``user``'s own people with their photo counts (hidden ones included; pages filter)."""
    return (
        active_people()
        .filter(owner=user)
        .annotate(photo_count=Count("faces__photo", filter=Q(faces__owner=user), distinct=True))
        .select_related("cover", "directory_person")
        .order_by("name", "id")
    )


def people_in_photos(*, user) -> list[Person]:
    """Everyone named in ``user``'s photos (their people and directory people), for the gallery's
    people filter."""
    ids = (
        Face.objects.filter(owner=user, photo__isnull=False, person__isnull=False)
        .exclude(assignment=Assignment.SUGGESTED)
        .values_list("person_id", flat=True)
        .distinct()
    )
    return list(active_people().visible_to(user).filter(id__in=ids, hidden=False).order_by("name", "id"))


def photos_with_people(*, user: User, photos: QuerySet[Photo], person_ids: Iterable[int]):
    """``photos`` (a queryset of ``user``'s photos) narrowed to those where *every* one of
    ``person_ids`` is named (suggestions do not count). Ids the user cannot see match nothing."""
    visible = set(active_people().visible_to(user).filter(id__in=list(person_ids)).values_list("id", flat=True))
    wanted = set(person_ids)
    if wanted - visible:
        return photos.none()
    for person_id in sorted(wanted):
        photos = photos.filter(
            id__in=Face.objects.filter(owner=user, person_id=person_id, photo__isnull=False)
            .exclude(assignment=Assignment.SUGGESTED)
            .values("photo_id")
        )
    return photos


def photos_together(a: Person, b: Person) -> list[int]:
    """Gallery photos and uploads where ``a`` and ``b`` both have a face (so they are two people)."""
    shared_photos = set(Face.objects.filter(person=a, photo__isnull=False).values_list("photo_id", flat=True)) & set(
        Face.objects.filter(person=b, photo__isnull=False).values_list("photo_id", flat=True)
    )
    return sorted(shared_photos)


def owner_scope(owner_id: int | None) -> Q:
    """Rows of ``owner_id``, or with None the directory's (rows with no owner)."""
    return Q(owner_id=owner_id) if owner_id is not None else Q(owner__isnull=True)


def unknown_faces(owner_id: int | None, embedder: str) -> QuerySet[Face]:
    """The faces a clustering of ``owner_id`` considers: their photos' unknown faces, or (None)
    the unassigned faces of the directory's enrollment photos — never users' faces for staff."""
    faces = Face.objects.filter(embedder=embedder, person__isnull=True, embedding__isnull=False)
    if owner_id is None:
        return faces.filter(upload__purpose=UploadPurpose.ENROLL)
    return faces.filter(owner_id=owner_id, photo__isnull=False)


def pair_counts(embedder: str) -> tuple[int, int]:
    """(genuine, impostor) pairs among the directory's enrolled faces, from counts alone."""
    from django.db.models import Count

    per_person = [
        n
        for n in Face.objects.filter(
            embedder=embedder, assignment=Assignment.ENROLLED, embedding__isnull=False, person__in=directory_people()
        )
        .values("person_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    ]
    total = sum(per_person)
    genuine = sum(n * (n - 1) // 2 for n in per_person)
    return genuine, total * (total - 1) // 2 - genuine


def reference_set(embedder: str) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (N, d) and person ids (N,) of the directory's enrolled faces of active people."""
    rows = list(
        Face.objects.filter(
            embedder=embedder,
            assignment=Assignment.ENROLLED,
            embedding__isnull=False,
            person__in=directory_people(),
        )
        .order_by("id")
        .values_list("person_id", "embedding")
    )
    if not rows:
        return np.zeros((0, 1), np.float32), np.zeros(0, np.int64)
    return np.stack([np.asarray(e, np.float32) for _, e in rows]), np.asarray([p for p, _ in rows], np.int64)


def user_uploads(user: Any) -> QuerySet[Upload]:
    """The identification/verification uploads of ``user`` (enrollment photos belong to people)."""
    return Upload.objects.filter(owner=user, purpose=UploadPurpose.IDENTIFY)


def own_faces(user: Any) -> QuerySet[Face]:
    """Faces a user may see and edit: those on their own photos and uploads."""
    return Face.objects.filter(owner=user)
