"""The SQL of the per-embedder partial HNSW indexes, shared by the migration, the queries and the bench.

One unconstrained ``vector`` column holds every embedder's vectors; each embedder gets a partial
index over ``embedding::vector(<dim>)`` restricted to its *reference* faces (enrolled or
confirmed). Queries repeat the cast and the predicate literally, so the planner can prove the
index applies (it cannot with bound parameters under a generic plan), and because every row the
index holds passes the query's filter, the approximate scan never loses results to a
post-filter (pgvector 0.6 has no iterative scans).
"""

from __future__ import annotations

import re

REFERENCE_ASSIGNMENTS = ("enrolled", "confirmed")
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def _literal(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]+", value):
        raise ValueError(f"unsafe SQL literal {value!r}")
    return f"'{value}'"


def index_name(embedder: str) -> str:
    return "face_emb_" + re.sub(r"[^a-z0-9]+", "_", embedder.lower()) + "_hnsw"


def predicate(embedder: str, alias: str = "") -> str:
    """The WHERE clause the index is built with; queries must include it verbatim."""
    col = f"{alias}." if alias else ""
    refs = ", ".join(_literal(a) for a in REFERENCE_ASSIGNMENTS)
    return f"{col}embedder = {_literal(embedder)} AND {col}assignment IN ({refs})"


def cast(dim: int, alias: str = "") -> str:
    col = f"{alias}." if alias else ""
    return f"({col}embedding::vector({int(dim)}))"


def create_index_sql(embedder: str, dim: int, table: str = "faces_face") -> str:
    return (
        f"CREATE INDEX IF NOT EXISTS {index_name(embedder)} ON {table} USING hnsw ({cast(dim)} vector_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE {predicate(embedder)}"
    )


def drop_index_sql(embedder: str) -> str:
    return f"DROP INDEX IF EXISTS {index_name(embedder)}"
