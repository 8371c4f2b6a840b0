"""The SQL of identification's indexes, shared by the migrations, the queries and the bench.

One unconstrained ``vector`` column holds every embedder's vectors. Identification of a user's
photo searches two sets of reference faces, in one SQL statement per face:

* **the directory** — faces staff enrolled (``assignment = 'enrolled'``), shared by every user:
  a *partial* HNSW index per embedder over ``embedding::vector(<dim>)`` holding exactly those
  rows. The query repeats the cast and the predicate literally, so the planner can prove the
  index applies (it cannot with bound parameters under a generic plan), and because every row
  the index holds passes the query's filter, the approximate scan loses nothing to a post-filter.
  pgvector 0.6 has no iterative scans, so *this* is how the filter stays out of the HNSW scan.
* **the user's own references** — faces that user confirmed (``assignment = 'confirmed'``,
  ``owner_id = user``): an exact scan through a partial B-tree on ``(owner_id, embedder)``. A user's
  confirmed faces number in the tens to thousands, which exact search reads in well under a
  millisecond to a few milliseconds (``bench/identify_bench.py --owners``), with perfect recall;
  a shared HNSW index over every user's confirmations, filtered by owner afterwards, would keep
  ``ef_search`` candidates of which about 1/owners belong to the caller — almost never k.

The two halves are ``UNION ALL``-ed and the k nearest of both kept (``faces.identify``).
"""

from __future__ import annotations

import re

DIRECTORY_ASSIGNMENT = "enrolled"
OWNER_ASSIGNMENT = "confirmed"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def _literal(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]+", value):
        raise ValueError(f"unsafe SQL literal {value!r}")
    return f"'{value}'"


def index_name(embedder: str) -> str:
    return "face_emb_" + re.sub(r"[^a-z0-9]+", "_", embedder.lower()) + "_hnsw"


def predicate(embedder: str, alias: str = "") -> str:
    """The directory's references of ``embedder``: the WHERE clause the HNSW index is built with;
    queries must include it verbatim."""
    col = f"{alias}." if alias else ""
    return f"{col}embedder = {_literal(embedder)} AND {col}assignment = {_literal(DIRECTORY_ASSIGNMENT)}"


def owner_predicate(embedder: str, alias: str = "") -> str:
    """A user's own references of ``embedder`` (the query adds ``owner_id = %s``); the partial
    B-tree ``face_owner_references`` serves it."""
    col = f"{alias}." if alias else ""
    return f"{col}embedder = {_literal(embedder)} AND {col}assignment = {_literal(OWNER_ASSIGNMENT)}"


def cast(dim: int, alias: str = "") -> str:
    col = f"{alias}." if alias else ""
    return f"({col}embedding::vector({int(dim)}))"


def create_index_sql(embedder: str, dim: int, table: str = "faces_face") -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {index_name(embedder)} ON {table} USING hnsw ({cast(dim)} vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE {predicate(embedder)}"
    )
