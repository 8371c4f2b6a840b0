"""Identification: nearest reference faces in SQL, a vote, the unknown threshold, one person per photo.

The query is ``ORDER BY embedding::vector(d) <=> q LIMIT k`` under the partial HNSW index of the
face's embedder (see :mod:`faces.vector_index`), with ``hnsw.ef_search`` set for the transaction.
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

from faces import conf
from faces.models import Calibration, Person, ThresholdOverride
from faces.vector_index import cast, predicate
from nstsite.models import TaskStatus


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # "override", "calibrated" or "default"


def threshold_for(embedder: str) -> Threshold:
    """The unknown cut-off (cosine distance) in force: manual override, else the latest calibration,
    else the embedder's published default."""
    override = ThresholdOverride.objects.filter(embedder=embedder).first()
    if override is not None:
        return Threshold(override.threshold, "override")
    calibration = (
        Calibration.objects.filter(embedder=embedder, status=TaskStatus.SUCCEEDED, threshold__isnull=False)
        .order_by("-finished_at", "-id")
        .first()
    )
    if calibration is not None:
        return Threshold(float(calibration.threshold), "calibrated")  # type: ignore[arg-type]
    return Threshold(conf.embedder_default_threshold(embedder), "default")


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    person_id: int
    distance: float


def vector_literal(embedding: Sequence[float] | np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(embedding, dtype=np.float64).ravel()) + "]"


def nearest_sql(embedder: str) -> str:
    """The k-NN query over ``embedder``'s reference faces; parameters: (query vector, query vector, k)."""
    dim = conf.embedder_dim(embedder)
    return (
        # The literals are checked by faces.vector_index (a strict pattern) and dim is an int.
        f"SELECT f.id, f.person_id, {cast(dim, 'f')} <=> %s::vector({dim}) AS distance "  # noqa: S608
        f"FROM faces_face f WHERE {predicate(embedder, 'f')} "
        f"ORDER BY {cast(dim, 'f')} <=> %s::vector({dim}) LIMIT %s"
    )


def nearest(embedding: Sequence[float] | np.ndarray, embedder: str, k: int) -> list[Neighbour]:
    """The ``k`` reference faces nearest to ``embedding`` (approximate, through the HNSW index)."""
    vector = vector_literal(embedding)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {max(int(conf.ef_search()), int(k))}")
        cursor.execute(nearest_sql(embedder), [vector, vector, int(k)])
        return [Neighbour(int(i), int(p), float(d)) for i, p, d in cursor.fetchall()]


def explain_nearest(embedder: str, k: int = 5) -> str:
    """``EXPLAIN`` of the identification query (tests and the thresholds page show it)."""
    vector = vector_literal(np.eye(1, conf.embedder_dim(embedder), 0)[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(conf.ef_search())}")
        cursor.execute("EXPLAIN " + nearest_sql(embedder), [vector, vector, int(k)])
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


def candidates(query: FaceQuery, embedder: str, threshold: float, k: int, excluded: set[int]) -> list[Candidate]:
    """People within ``threshold`` among the ``k`` nearest usable references, best first."""
    # Ask for a few more rows than k so rejected or hidden people do not crowd out the vote.
    neighbours = nearest(query.embedding, embedder, k + len(query.rejected) + 3)
    by_person: dict[int, Candidate] = {}
    used = 0
    for n in neighbours:
        if n.person_id in query.rejected or n.person_id in excluded:
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


def excluded_people() -> set[int]:
    """People identification must never return: hidden ones and those merged into someone else."""
    return set(Person.objects.filter(hidden=True).values_list("id", flat=True)) | set(
        Person.objects.filter(merged_into__isnull=False).values_list("id", flat=True)
    )


def identify(
    queries: Iterable[FaceQuery],
    *,
    embedder: str,
    threshold: float,
    taken: Iterable[int] = (),
    k: int | None = None,
    suggest_factor: float | None = None,
) -> dict[int, Match | None]:
    """Identify the faces of one photo: ``{query.key: Match or None (unknown)}``.

    ``taken`` are people already in the photo (confirmed faces): nobody else there gets them. A
    face with no one within ``threshold`` may still get a *suggestion* (``sure=False``): the best
    remaining person within ``threshold × suggest_factor``, for its owner to confirm or reject.
    """
    k = k or conf.knn()
    factor = conf.suggest_factor() if suggest_factor is None else suggest_factor
    loose = threshold * max(factor, 1.0)
    excluded = excluded_people()
    ranked = {q.key: candidates(q, embedder, loose, k, excluded) for q in queries}
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
