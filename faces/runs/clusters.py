"""The clustering job and incremental grouping: "who is this?" groups per owner, and merge suggestions.

Clustering runs *per owner*: each user's unknown faces are grouped only with their own, and the
groups are theirs to name or dismiss; staff cluster only the directory's enrollment photos. Two
ways in, like Immich: :func:`unknown_faces_group` places a new photo's unknown faces at once
(incremental — a face joins the group of its nearest unknown neighbour, or starts a group once
``min_faces`` unknown faces lie within ``eps``, so suggestions appear without a button), and a
full DBSCAN run (``faces.services.clustering_create``) regroups one owner's faces from scratch.
A run replaces the open suggestions of the previous run and leaves decided ones alone: faces in a
dismissed group are not suggested again, and a dismissed pair of people is not proposed again.
Merge suggestions compare people's mean reference embeddings (one vector per person, so the
cost grows with people, not faces) and skip people who appear together in a photo.
"""

from __future__ import annotations

import numpy as np
from django.db import connection, transaction
from django.db.models import Q

from faces import conf
from faces.identify import threshold_for, vector_literal
from faces.models import Assignment, Clustering, Face, Person, Suggestion, SuggestionKind, SuggestionStatus
from faces.selectors import active_people, owner_scope, photos_together, unknown_faces
from faces.vector_index import cast
from ml.faces.cluster import dbscan
from ml.faces.verify import pairwise_distances


def _vectors(rows: list[tuple[int, object]]) -> np.ndarray:
    return np.stack([np.asarray(e, dtype=np.float32) for _, e in rows]) if rows else np.zeros((0, 1), np.float32)


def clustering_execute(clustering_id: int) -> None:
    """The job's work on its claimed run: regroup the owner's unknown faces, propose merges."""
    run = Clustering.objects.get(pk=clustering_id)
    rows = list(
        unknown_faces(run.owner_id, run.embedder)
        .exclude(suggestion__status=SuggestionStatus.DISMISSED)
        .order_by("id")
        .values_list("id", "embedding")
    )
    labels = dbscan(_vectors(rows), run.eps, run.min_faces) if rows else np.zeros(0, np.int64)
    merges = _merge_candidates(run.embedder, threshold_for(run.embedder).value, run.owner_id)
    with transaction.atomic():
        Suggestion.objects.filter(
            owner_scope(run.owner_id), status=SuggestionStatus.OPEN, embedder=run.embedder
        ).delete()
        clusters = 0
        for label in sorted(set(labels.tolist()) - {-1}):
            members = [rows[i][0] for i in np.flatnonzero(labels == label)]
            suggestion = Suggestion.objects.create(
                clustering=run, owner_id=run.owner_id, kind=SuggestionKind.CLUSTER, embedder=run.embedder,
                size=len(members),
            )  # fmt: skip
            Face.objects.filter(id__in=members).update(suggestion=suggestion)
            clusters += 1
        for a, b, distance in merges:
            Suggestion.objects.create(
                clustering=run, owner_id=run.owner_id, kind=SuggestionKind.MERGE, embedder=run.embedder,
                person_a_id=a, person_b_id=b, distance=distance, size=2,
            )  # fmt: skip
        Clustering.succeed(
            clustering_id,
            faces_considered=len(rows),
            clusters_found=clusters,
            merges_found=len(merges),
        )


def _merge_candidates(embedder: str, threshold: float, owner_id: int | None) -> list[tuple[int, int, float]]:
    people = list(active_people().filter(owner_scope(owner_id), hidden=False).values_list("id", flat=True))
    # Each list's own references: enrolled faces for the directory, the owner's confirmations for theirs.
    references = (
        Q(assignment=Assignment.ENROLLED) if owner_id is None else Q(assignment=Assignment.CONFIRMED, owner_id=owner_id)
    )
    rows = Face.objects.filter(
        references, embedder=embedder, person_id__in=people, embedding__isnull=False
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


def unknown_faces_group(*, owner_id: int, face_ids: list[int], embedder: str) -> int:
    """Place a new photo's unknown faces among the owner's groups (incremental clustering).

    For each face still unknown, its owner's other unknown faces within ``eps`` (exact search over
    that owner's rows only) decide: it joins the group of the nearest one that has a group (a
    dismissed group too, so a stranger once dismissed stays quiet); otherwise, once it and its
    neighbours number ``min_faces``, they start a new open group. Returns the faces placed.
    """
    eps = conf.cluster_eps() or threshold_for(embedder).value
    min_faces = conf.cluster_min_faces()
    dim = conf.embedder_dim(embedder)
    placed = 0
    faces = Face.objects.filter(
        id__in=face_ids, owner_id=owner_id, person__isnull=True, embedding__isnull=False, suggestion__isnull=True
    ).order_by("id")
    for face in faces:
        if face.embedding is None:  # (the filter excludes these; this tells the type checker)
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, suggestion_id, {cast(dim)} <=> %s::vector({dim}) AS d FROM faces_face "  # noqa: S608
                "WHERE owner_id = %s AND embedder = %s AND person_id IS NULL AND embedding IS NOT NULL "
                "AND photo_id IS NOT NULL AND photo_id <> %s ORDER BY d LIMIT 50",
                [vector_literal(face.embedding), owner_id, embedder, face.photo_id or 0],
            )
            near = [(i, s, float(d)) for i, s, d in cursor.fetchall() if d <= eps]
        grouped = [s for _, s, _ in near if s is not None]
        if grouped:
            suggestion = Suggestion.objects.filter(pk=grouped[0]).first()
            if suggestion is not None and suggestion.owner_id == owner_id:
                Face.objects.filter(pk=face.pk).update(suggestion=suggestion)
                Suggestion.objects.filter(pk=suggestion.pk).update(size=suggestion.faces.count())
                placed += 1
            continue
        if len(near) + 1 >= min_faces:
            suggestion = Suggestion.objects.create(
                owner_id=owner_id, kind=SuggestionKind.CLUSTER, embedder=embedder, size=len(near) + 1
            )
            Face.objects.filter(id__in=[face.pk] + [i for i, _, _ in near]).update(suggestion=suggestion)
            placed += 1
    return placed
