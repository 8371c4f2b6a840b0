"""Unknown faces: DBSCAN groups of unassigned faces for staff to name or dismiss, and merge suggestions.

A run replaces the open suggestions of the previous run and leaves decided ones alone: faces in a
dismissed group are not suggested again, and a dismissed pair of people is not proposed again.
Merge suggestions compare people's mean reference embeddings (one vector per person, so the
cost grows with people, not faces) and skip people who appear together in a photo.
"""

from __future__ import annotations

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from faces import conf
from faces.models import (
    Assignment,
    Clustering,
    Face,
    Person,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
)
from faces.services.identify import threshold_for
from faces.services.people import active_people, face_assign, person_create, person_merge, photos_together
from ml.faces.cluster import dbscan
from ml.faces.verify import pairwise_distances
from nstsite import jobs
from nstsite.models import TaskStatus


def clustering_create(*, actor, eps: float | None = None, min_faces: int | None = None) -> Clustering:  # type: ignore[no-untyped-def]
    embedder = conf.embedder_name()
    eps = eps or conf.cluster_eps() or threshold_for(embedder).value
    clustering = Clustering.objects.create(
        created_by=actor, embedder=embedder, eps=eps, min_faces=min_faces or conf.cluster_min_faces()
    )
    from faces.jobs import clustering_failed, clustering_run

    jobs.enqueue("faces", clustering_run, Clustering, clustering.pk, on_failure=clustering_failed)
    return clustering


def _vectors(rows: list[tuple[int, object]]) -> np.ndarray:
    return np.stack([np.asarray(e, dtype=np.float32) for _, e in rows]) if rows else np.zeros((0, 1), np.float32)


def clustering_run_body(clustering_id: int, *, worker_name: str = "") -> None:
    if not Clustering.claim(clustering_id, worker_name=worker_name):
        return
    run = Clustering.objects.get(pk=clustering_id)
    with jobs.heartbeat(Clustering, clustering_id):
        rows = list(
            Face.objects.filter(
                embedder=run.embedder, person__isnull=True, embedding__isnull=False, photo__isnull=False
            )
            .exclude(suggestion__status=SuggestionStatus.DISMISSED)
            .order_by("id")
            .values_list("id", "embedding")
        )
        labels = dbscan(_vectors(rows), run.eps, run.min_faces) if rows else np.zeros(0, np.int64)
        merges = _merge_candidates(run.embedder, threshold_for(run.embedder).value)
        with transaction.atomic():
            Suggestion.objects.filter(status=SuggestionStatus.OPEN, embedder=run.embedder).delete()
            clusters = 0
            for label in sorted(set(labels.tolist()) - {-1}):
                members = [rows[i][0] for i in np.flatnonzero(labels == label)]
                suggestion = Suggestion.objects.create(
                    clustering=run, kind=SuggestionKind.CLUSTER, embedder=run.embedder, size=len(members)
                )
                Face.objects.filter(id__in=members).update(suggestion=suggestion)
                clusters += 1
            for a, b, distance in merges:
                Suggestion.objects.create(
                    clustering=run, kind=SuggestionKind.MERGE, embedder=run.embedder, person_a_id=a, person_b_id=b,
                    distance=distance, size=2,
                )  # fmt: skip
            Clustering.objects.filter(pk=clustering_id, status=TaskStatus.RUNNING).update(
                status=TaskStatus.SUCCEEDED,
                progress=1.0,
                faces_considered=len(rows),
                clusters_found=clusters,
                merges_found=len(merges),
                finished_at=timezone.now(),
            )


def _merge_candidates(embedder: str, threshold: float) -> list[tuple[int, int, float]]:
    people = list(active_people().filter(hidden=False).values_list("id", flat=True))
    rows = Face.objects.filter(
        embedder=embedder, person_id__in=people, assignment__in=Assignment.references(), embedding__isnull=False
    ).values_list("person_id", "embedding")
    by_person: dict[int, list[np.ndarray]] = {}
    for person_id, embedding in rows:
        by_person.setdefault(person_id, []).append(np.asarray(embedding, dtype=np.float64))
    ids = sorted(by_person)
    if len(ids) < 2:
        return []
    means = np.stack([np.mean(by_person[i], axis=0) for i in ids])
    distances = pairwise_distances(means, means)
    dismissed = {
        frozenset((a, b))
        for a, b in Suggestion.objects.filter(kind=SuggestionKind.MERGE, status=SuggestionStatus.DISMISSED).values_list(
            "person_a_id", "person_b_id"
        )
    }
    found = []
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            if distances[i, j] <= threshold and frozenset((ids[i], ids[j])) not in dismissed:
                a, b = Person.objects.get(pk=ids[i]), Person.objects.get(pk=ids[j])
                if not photos_together(a, b):
                    found.append((ids[i], ids[j], float(distances[i, j])))
    return sorted(found, key=lambda t: t[2])


@transaction.atomic
def suggestion_name(*, suggestion: Suggestion, actor, name: str = "", person: Person | None = None) -> Person:  # type: ignore[no-untyped-def]
    """Name a group of unknown faces: a new person (``name``) or an existing ``person``.

    One face per photo: where the group holds several faces of one photo, only the first is named.
    """
    if suggestion.kind != SuggestionKind.CLUSTER or suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion is not an open group of faces.")
    if person is None:
        person = person_create(name=name, actor=actor)
    seen_photos: set[int] = set()
    for face in suggestion.faces.filter(person__isnull=True).order_by("id"):
        if face.photo_id in seen_photos or face.rejected.filter(pk=person.pk).exists():
            continue
        seen_photos.add(face.photo_id)  # type: ignore[arg-type]
        try:
            face_assign(face=face, person=person, actor=actor)
        except ValidationError:
            continue  # the person is already named in that photo
    suggestion.status, suggestion.decided = SuggestionStatus.ACCEPTED, timezone.now()
    suggestion.save(update_fields=["status", "decided"])
    return person


@transaction.atomic
def suggestion_dismiss(*, suggestion: Suggestion, actor) -> Suggestion:  # type: ignore[no-untyped-def]
    if suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion was already decided.")
    suggestion.status, suggestion.decided = SuggestionStatus.DISMISSED, timezone.now()
    suggestion.save(update_fields=["status", "decided"])
    return suggestion


@transaction.atomic
def suggestion_merge(*, suggestion: Suggestion, actor):  # type: ignore[no-untyped-def]
    """Accept a merge suggestion: person_b goes into person_a (undo from the audit log)."""
    if suggestion.kind != SuggestionKind.MERGE or suggestion.status != SuggestionStatus.OPEN:
        raise ValidationError("This suggestion is not an open merge.")
    event = person_merge(source=suggestion.person_b, target=suggestion.person_a, actor=actor)  # type: ignore[arg-type]
    Suggestion.objects.filter(pk=suggestion.pk).update(status=SuggestionStatus.ACCEPTED, decided=timezone.now())
    return event
