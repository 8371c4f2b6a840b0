"""Identification SQL at scale: HNSW build time and size, query latency, recall against exact search.

    python bench/identify_bench.py                      # 10k and 100k rows, ef_search 40 and 100
    python bench/identify_bench.py --sizes 1000000 --ef 40 100 200

Loads N random unit vectors (dim 128, like dlib) into a table shaped like ``faces_face`` (the
embedding in an unconstrained ``vector`` column, an ``embedder`` and an ``assignment`` column),
builds the same partial HNSW index over ``embedding::vector(128)`` that migration 0002 creates
(m=16, ef_construction=64), and runs the production query from ``faces.services.identify``
(``ORDER BY embedding::vector(128) <=> q LIMIT k`` with the same predicate). Exact top-k comes
from numpy on the same vectors. Uniform random vectors in 128-d are the hardest case for a graph
index (no structure, every point nearly orthogonal): real face embeddings cluster by person.

Uses the database of the Django settings (the embedded PostgreSQL unless DATABASE_URL is set),
in a scratch table it drops afterwards. pgvector here is 0.6.2: no iterative index scans.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nstsite.settings")

TABLE = "bench_identify_face"
EMBEDDER = "dlib-resnet-v1"


def setup_django() -> None:
    import django

    django.setup()


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def people_vectors(
    n: int, dim: int, seed: int, per_person: int = 10, spread: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` face-like vectors: ``n / per_person`` people, each a random centre plus noise so that two
    faces of one person lie about ``spread`` apart in cosine distance (dlib's genuine pairs: ≈0.03-0.08)."""
    rng = np.random.default_rng(seed)
    people = max(1, n // per_person)
    centres = unit_vectors(people, dim, seed + 100)
    sigma = np.sqrt(spread / (1 - spread) / dim)
    owner = np.arange(n) % people
    x = centres[owner] + rng.normal(scale=sigma, size=(n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), centres


def people_queries(centres: np.ndarray, count: int, seed: int, spread: float = 0.05) -> np.ndarray:
    """New photos of enrolled people: fresh noisy samples around random centres."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    sigma = np.sqrt(spread / (1 - spread) / dim)
    x = centres[rng.integers(0, len(centres), count)] + rng.normal(scale=sigma, size=(count, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def load(cursor, vectors: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cursor.execute(
        f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector, embedder varchar(40), assignment varchar(10))"
    )
    start = time.perf_counter()
    with cursor.copy(f"COPY {TABLE} (id, embedding, embedder, assignment) FROM STDIN") as copy:
        for i, v in enumerate(vectors):
            copy.write_row((i, "[" + ",".join(f"{x:.6f}" for x in v) + "]", EMBEDDER, "enrolled"))
    cursor.execute(f"ANALYZE {TABLE}")
    return time.perf_counter() - start


def build_index(cursor, dim: int, m: int, ef_construction: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from faces.vector_index import HNSW_EF_CONSTRUCTION, HNSW_M, create_index_sql, index_name

    sql = create_index_sql(EMBEDDER, dim, table=TABLE).replace(index_name(EMBEDDER), "bench_identify_hnsw")
    sql = sql.replace(
        f"m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}", f"m = {m}, ef_construction = {ef_construction}"
    )
    cursor.execute("SET maintenance_work_mem = '1GB'")
    start = time.perf_counter()
    cursor.execute(sql)
    elapsed = time.perf_counter() - start
    cursor.execute("SELECT pg_relation_size('bench_identify_hnsw')")
    return elapsed, int(cursor.fetchone()[0])


def query_sql(dim: int) -> str:
    from faces.vector_index import cast, predicate

    return (
        f"SELECT f.id FROM {TABLE} f WHERE {predicate(EMBEDDER, 'f')} "  # noqa: S608 - constants only
        f"ORDER BY {cast(dim, 'f')} <=> %s::vector({dim}) LIMIT %s"
    )


def run_queries(cursor, queries: np.ndarray, dim: int, ef: int, k: int) -> tuple[list[list[int]], list[float], str]:  # type: ignore[no-untyped-def]
    sql = query_sql(dim)
    cursor.execute(f"SET hnsw.ef_search = {int(ef)}")
    literal = ["[" + ",".join(f"{x:.6f}" for x in q) + "]" for q in queries]
    cursor.execute("EXPLAIN " + sql, [literal[0], k])
    plan = "\n".join(r[0] for r in cursor.fetchall())
    for q in literal[:10]:  # warm the cache
        cursor.execute(sql, [q, k])
        cursor.fetchall()
    results, latencies = [], []
    for q in literal:
        start = time.perf_counter()
        cursor.execute(sql, [q, k])
        rows = cursor.fetchall()
        latencies.append((time.perf_counter() - start) * 1000.0)
        results.append([r[0] for r in rows])
    return results, latencies, plan


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    out = []
    for start in range(0, len(queries), 50):
        sims = queries[start : start + 50] @ vectors.T
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
        out.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(out)


def recall(found: list[list[int]], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k].tolist())) / k for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--ef", type=int, nargs="+", default=[40, 100])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--m", type=int, default=16, help="HNSW m (production: 16)")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW ef_construction (production: 64)")
    parser.add_argument(
        "--data",
        choices=["uniform", "people"],
        default="uniform",
        help="uniform random unit vectors (worst case), or face-like: people of 10 faces each, queries near one person",
    )
    parser.add_argument("--keep", action="store_true", help="leave the table for inspection")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    k = 10
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; PostgreSQL {server}, pgvector {pgvector}")
    print(
        f"data {args.data}, dim {args.dim}, {args.queries} queries, k={k}, "
        f"HNSW m={args.m} ef_construction={args.ef_construction}\n"
    )
    header = (
        f"{'rows':>9} {'load s':>7} {'build s':>8} {'index MB':>9} {'ef_search':>9} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'recall@1':>9} {'recall@10':>10} plan"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        if args.data == "people":
            vectors, centres = people_vectors(n, args.dim, seed=1)
            queries = people_queries(centres, args.queries, seed=2)
        else:
            vectors = unit_vectors(n, args.dim, seed=1)
            queries = unit_vectors(args.queries, args.dim, seed=2)
        truth = exact_topk(vectors, queries, k)
        connection.ensure_connection()
        raw = connection.connection
        raw.autocommit = True
        with raw.cursor() as cursor:
            load_s = load(cursor, vectors)
            build_s, size = build_index(cursor, args.dim, args.m, args.ef_construction)
            for ef in args.ef:
                found, lat, plan = run_queries(cursor, queries, args.dim, ef, k)
                uses = "hnsw index" if "bench_identify_hnsw" in plan else "NO INDEX"
                p95 = statistics.quantiles(lat, n=20)[18]
                print(
                    f"{n:>9} {load_s:>7.1f} {build_s:>8.1f} {size / 2**20:>9.1f} {ef:>9} "
                    f"{statistics.median(lat):>7.2f} "
                    f"{p95:>7.2f} {recall(found, truth, 1):>9.3f} {recall(found, truth, k):>10.3f} {uses}",
                    flush=True,
                )
            if not args.keep:
                cursor.execute(f"DROP TABLE {TABLE}")


if __name__ == "__main__":
    main()
