"""Identification: nearest reference faces in SQL, a vote, the unknown threshold, one person per photo.

Whose references count: a user's photo is compared with the directory's enrolled faces and with
the faces *that user* confirmed — never with another user's. One SQL statement per face: the
k nearest directory faces through the embedder's partial HNSW index (``hnsw.ef_search`` set for
the transaction), ``UNION ALL`` the k nearest of the owner's confirmed faces by exact search, the
k nearest of both kept (see :mod:`faces.vector_index` for why this keeps recall under the filter).
A user's person linked to a directory entry takes that entry's votes under the user's own name.
The k nearest reference faces within the threshold vote for their person (more votes win, then
the smaller distance); a face with no reference within the threshold is "unknown". Two faces of
one photo never get the same person: faces are settled closest first and a person already taken
in the photo (including by a confirmed face) falls to the face's next candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet

from faces import conf
from faces.models import Calibration, Person, ThresholdOverride
from faces.vector_index import cast, owner_predicate, predicate
from nstsite.models import TaskStatus


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # "override", "calibrated" or "default"


def threshold_for(embedder: str) -> Threshold:
    """The unknown cut-off (cosine distance) in force: manual override, else the latest calibration
    staff applied, else the embedder's published default."""
    override = ThresholdOverride.objects.filter(embedder=embedder).first()
    if override is not None:
        return Threshold(override.threshold, "override")
    calibration = (
        Calibration.objects.filter(
            embedder=embedder, status=TaskStatus.SUCCEEDED, threshold__isnull=False, applied__isnull=False
        )
        .order_by("-applied", "-id")
        .first()
    )
    if calibration is not None and calibration.threshold is not None:  # (the filter guarantees a threshold)
        return Threshold(float(calibration.threshold), "calibrated")
    return Threshold(conf.embedder_default_threshold(embedder), "default")


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    person_id: int
    distance: float


def vector_literal(embedding: Sequence[float] | np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(embedding, dtype=np.float64).ravel()) + "]"


def nearest_sql(embedder: str, *, owner: bool = True) -> str:
    """The k-NN query over the references of ``embedder`` that one user's photos are compared with.

    Parameters: (q, q, k) for the directory half, then (q, owner id, k) for the owner half when
    ``owner``, then the final k. Each half has its own ``ORDER BY … LIMIT``, so the directory half
    is an HNSW index scan with no post-filter and the owner half an exact scan of their few rows.
    """
    dim = conf.embedder_dim(embedder)
    distance = f"{cast(dim, 'f')} <=> %s::vector({dim})"
    # The literals are checked by faces.vector_index (a strict pattern) and dim is an int.
    directory = (
        f"SELECT f.id, f.person_id, {distance} AS distance FROM faces_face f "  # noqa: S608
        f"WHERE {predicate(embedder, 'f')} ORDER BY {cast(dim, 'f')} <=> %s::vector({dim}) LIMIT %s"
    )
    if not owner:
        return directory
    own = (
        f"SELECT f.id, f.person_id, {distance} AS distance FROM faces_face f "  # noqa: S608
        f"WHERE {owner_predicate(embedder, 'f')} AND f.owner_id = %s ORDER BY distance LIMIT %s"
    )
    return f"SELECT id, person_id, distance FROM (({directory}) UNION ALL ({own})) AS n ORDER BY distance LIMIT %s"  # noqa: S608


def nearest(
    embedding: Sequence[float] | np.ndarray, embedder: str, k: int, *, owner_id: int | None = None
) -> list[Neighbour]:
    """The ``k`` reference faces nearest to ``embedding`` that ``owner_id``'s photos are compared
    with (the directory's, and that user's confirmed faces); ``owner_id=None``: the directory only."""
    vector = vector_literal(embedding)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {max(int(conf.ef_search()), int(k))}")
        if owner_id is None:
            cursor.execute(nearest_sql(embedder, owner=False), [vector, vector, int(k)])
        else:
            cursor.execute(nearest_sql(embedder), [vector, vector, int(k), vector, int(owner_id), int(k), int(k)])
        return [Neighbour(int(i), int(p), float(d)) for i, p, d in cursor.fetchall()]


def explain_nearest(embedder: str, k: int = 5, owner_id: int = 0) -> str:
    """``EXPLAIN`` of the identification query (tests and the thresholds page show it)."""
    vector = vector_literal(np.eye(1, conf.embedder_dim(embedder), 0)[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(conf.ef_search())}")
        cursor.execute(
            "EXPLAIN " + nearest_sql(embedder), [vector, vector, int(k), vector, int(owner_id), int(k), int(k)]
        )
        return "\n".join(row[0] for row in cursor.fetchall())


@dataclass
class Candidate:
    person_id: int
    distance: float  # nearest reference face of this person
    votes: int


@dataclass
class FaceQuery:
    """One face to identify: its embedding and the people it must not be (rejections)."""

    key: int
    embedding: np.ndarray
    rejected: set[int] = field(default_factory=set)


def candidates(
    query: FaceQuery,
    embedder: str,
    threshold: float,
    k: int,
    excluded: set[int],
    *,
    owner_id: int | None = None,
    aliases: dict[int, int] | None = None,
) -> list[Candidate]:
    """People within ``threshold`` among the ``k`` nearest usable references, best first.

    ``aliases`` maps a directory person to the owner's person linked to them: their votes count
    for the owner's person (a rejection of either rejects both)."""
    aliases = aliases or {}
    # Ask for a few more rows than k so rejected or hidden people do not crowd out the vote.
    neighbours = nearest(query.embedding, embedder, k + len(query.rejected) + 3, owner_id=owner_id)
    by_person: dict[int, Candidate] = {}
    used = 0
    for raw in neighbours:
        n = Neighbour(raw.face_id, aliases.get(raw.person_id, raw.person_id), raw.distance)
        if n.person_id in query.rejected or raw.person_id in query.rejected or n.person_id in excluded:
            continue
        used += 1
        if used > k:
            break
        if n.distance > threshold:
            continue
        found = by_person.get(n.person_id)
        if found is None:
            by_person[n.person_id] = Candidate(n.person_id, n.distance, 1)
        else:
            found.votes += 1
            found.distance = min(found.distance, n.distance)
    return sorted(by_person.values(), key=lambda c: (-c.votes, c.distance))


def _scope(owner_id: int | None) -> QuerySet[Person]:
    people = Person.objects.filter(owner__isnull=True)
    return people | Person.objects.filter(owner_id=owner_id) if owner_id is not None else people


def excluded_people(owner_id: int | None = None) -> set[int]:
    """People identification must never return for ``owner_id``'s photos: hidden ones and those
    merged into someone else (among the directory and that user's people)."""
    scope = _scope(owner_id)
    return set(scope.filter(hidden=True).values_list("id", flat=True)) | set(
        scope.filter(merged_into__isnull=False).values_list("id", flat=True)
    )


def linked_aliases(owner_id: int | None) -> dict[int, int]:
    """{directory person id: the owner's person linked to them}."""
    if owner_id is None:
        return {}
    return dict(
        Person.objects.filter(owner_id=owner_id, directory_person__isnull=False, merged_into__isnull=True)
        .order_by("id")
        .values_list("directory_person_id", "id")
    )


def identify(
    queries: Iterable[FaceQuery],
    *,
    embedder: str,
    threshold: float,
    taken: Iterable[int] = (),
    k: int | None = None,
    suggest_factor: float | None = None,
    owner_id: int | None = None,
) -> dict[int, Match | None]:
    """Identify the faces of one photo of ``owner_id``: ``{query.key: Match or None (unknown)}``.

    ``taken`` are people already in the photo (confirmed faces): nobody else there gets them. A
    face with no one within ``threshold`` may still get a *suggestion* (``sure=False``): the best
    remaining person within ``threshold × suggest_factor``, for its owner to confirm or reject.
    """
    k = k or conf.knn()
    factor = conf.suggest_factor() if suggest_factor is None else suggest_factor
    loose = threshold * max(factor, 1.0)
    excluded = excluded_people(owner_id)
    aliases = linked_aliases(owner_id)
    ranked = {q.key: candidates(q, embedder, loose, k, excluded, owner_id=owner_id, aliases=aliases) for q in queries}
    used = set(taken)
    result: dict[int, Match | None] = dict.fromkeys(ranked)
    for limit, sure in ((threshold, True), (loose, False)):
        # Closest faces choose first; a later face whose best person is taken takes its next one.
        open_keys = [key for key in ranked if result[key] is None]
        order = sorted(open_keys, key=lambda key: min((c.distance for c in ranked[key]), default=float("inf")))
        for key in order:
            eligible = [c for c in ranked[key] if c.distance <= limit and c.person_id not in used]
            if eligible:
                best = min(eligible, key=lambda c: (-c.votes, c.distance))
                result[key] = Match(best.person_id, best.distance, best.votes, sure)
                used.add(best.person_id)
    return result


@dataclass(frozen=True)
class Match:
    person_id: int
    distance: float
    votes: int
    sure: bool  # within the threshold (an identification) or only near it (a suggestion)
