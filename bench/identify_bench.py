"""Identification SQL at scale: HNSW build time and size, query latency, recall against exact search.

    python bench/identify_bench.py                      # 10k and 100k rows, ef_search 40 and 100
    python bench/identify_bench.py --sizes 1000000 --ef 40 100 200
    python bench/identify_bench.py --owners 1000        # identification under the owner filter

``--owners N``: users' confirmed faces (``--sizes`` rows, spread over N owners) plus a directory of
enrolled faces (``--directory`` rows); each query is one owner's new photo, and its truth is the
exact top-10 over the directory and *that owner's* faces. Three SQL strategies run interleaved
per query (same machine load for each): the production ``UNION ALL`` (directory HNSW partial
index + the owner's rows exactly, ``faces.identify.nearest_sql``), one HNSW index over
every reference with the owner filter applied after the scan (what pgvector 0.6 does to a
``WHERE`` it cannot push into the graph), and that index with an over-fetched candidate list.

Loads N random unit vectors (dim 128, like dlib) into a table shaped like ``faces_face`` (the
embedding in an unconstrained ``vector`` column, an ``embedder`` and an ``assignment`` column),
builds the same partial HNSW index over ``embedding::vector(128)`` that migration 0002 creates
(m=16, ef_construction=64), and runs the production query from ``faces.identify``
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TABLE = "bench_identify_face"
EMBEDDER = "dlib-resnet-v1"


def setup_django() -> None:
    from nstsite.embedded import configure_environment

    configure_environment()  # the embedded services under var/ unless DATABASE_URL/REDIS_URL say otherwise
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


OWNERS_TABLE = "bench_identify_owned"


def load_owned(cursor, directory: np.ndarray, owned: np.ndarray, owners: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    cursor.execute(f"DROP TABLE IF EXISTS {OWNERS_TABLE}")
    cursor.execute(
        f"CREATE TABLE {OWNERS_TABLE} (id bigint PRIMARY KEY, owner_id bigint, person_id bigint, embedding vector, "
        "embedder varchar(40), assignment varchar(10))"
    )
    start = time.perf_counter()
    with cursor.copy(f"COPY {OWNERS_TABLE} (id, owner_id, embedding, embedder, assignment) FROM STDIN") as copy:
        for i, v in enumerate(directory):
            copy.write_row((i, 0, "[" + ",".join(f"{x:.6f}" for x in v) + "]", EMBEDDER, "enrolled"))
        for j, v in enumerate(owned):
            copy.write_row((len(directory) + j, int(owners[j]), "[" + ",".join(f"{x:.6f}" for x in v) + "]",
                            EMBEDDER, "confirmed"))  # fmt: skip
    cursor.execute(f"ANALYZE {OWNERS_TABLE}")
    return time.perf_counter() - start


def owners_main(args: argparse.Namespace) -> None:
    """Identification of one owner's photo: directory + that owner's references (see the module doc)."""
    from django.db import connection

    from faces.identify import nearest_sql
    from faces.vector_index import HNSW_EF_CONSTRUCTION, HNSW_M, cast, create_index_sql

    dim, k, n_owned, n_dir = args.dim, 10, args.sizes[-1], args.directory
    per_person, popular_per_owner = 10, 3
    people_per_owner = max(1, n_owned // args.owners // per_person)
    private_per_owner = max(0, people_per_owner - popular_per_owner)
    # Each owner's library: private people (only in their photos) and a few "popular" people who
    # appear in many users' photos (family shared between accounts, public figures). The popular
    # ones are what a shared index with a post-filter gets wrong: their nearest faces are mostly
    # other owners' photos of them.
    private = unit_vectors(args.owners * private_per_owner, dim, seed=11)
    popular = unit_vectors(args.popular, dim, seed=12)
    rng = np.random.default_rng(4)
    sigma = np.sqrt(0.05 / 0.95 / dim)
    owned_rows, owners_list, library = [], [], {}
    for u in range(1, args.owners + 1):
        centres = [private[(u - 1) * private_per_owner + i] for i in range(private_per_owner)]
        picks = rng.choice(args.popular, popular_per_owner, replace=False)
        centres += [popular[i] for i in picks]
        library[u] = (centres[:private_per_owner], [popular[i] for i in picks])
        for c in centres:
            x = c + rng.normal(scale=sigma, size=(per_person, dim)).astype(np.float32)
            owned_rows.append(x / np.linalg.norm(x, axis=1, keepdims=True))
            owners_list += [u] * per_person
    owned = np.concatenate(owned_rows).astype(np.float32)
    owners = np.asarray(owners_list)
    n_owned = len(owned)
    directory, dir_centres = people_vectors(n_dir, dim, seed=3, per_person=per_person)
    query_owner = rng.integers(1, args.owners + 1, args.queries)
    queries = []
    for u in query_owner:  # 40 % a popular person of theirs, 30 % a private one, 30 % a directory person
        roll = rng.random()
        if roll < 0.4:
            centre = library[u][1][rng.integers(0, popular_per_owner)]
        elif roll < 0.7 and private_per_owner:
            centre = library[u][0][rng.integers(0, private_per_owner)]
        else:
            centre = dir_centres[rng.integers(0, len(dir_centres))]
        queries.append(people_queries(centre[None, :], 1, seed=int(rng.integers(1 << 30)))[0])
    all_vectors = np.concatenate([directory, owned])
    all_owner = np.concatenate([np.zeros(n_dir, np.int64), owners])
    truth = []
    for q, u in zip(queries, query_owner, strict=True):
        scope = np.flatnonzero((all_owner == 0) | (all_owner == u))
        sims = all_vectors[scope] @ q
        truth.append(scope[np.argsort(-sims)[:k]])

    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; pgvector {cursor.fetchone()[0]}")
        load_s = load_owned(cursor, directory, owned, owners)
        cursor.execute("SET maintenance_work_mem = '1GB'")
        start = time.perf_counter()
        cursor.execute(create_index_sql(EMBEDDER, dim, table=OWNERS_TABLE).replace("face_emb_", "bench_owned_emb_"))
        build_dir = time.perf_counter() - start
        cursor.execute(
            f"CREATE INDEX bench_owned_refs ON {OWNERS_TABLE} (owner_id, embedder) WHERE assignment = 'confirmed'"
        )
        start = time.perf_counter()
        cursor.execute(
            f"CREATE INDEX bench_owned_all_hnsw ON {OWNERS_TABLE} USING hnsw ({cast(dim)} vector_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE embedder = '{EMBEDDER}' AND assignment IN ('enrolled', 'confirmed')"
        )
        build_all = time.perf_counter() - start
        union = nearest_sql(EMBEDDER).replace("faces_face", OWNERS_TABLE)
        post = (
            f"SELECT f.id FROM {OWNERS_TABLE} f WHERE f.embedder = '{EMBEDDER}' "  # noqa: S608 - constants only
            f"AND f.assignment IN ('enrolled', 'confirmed') AND (f.assignment = 'enrolled' OR f.owner_id = %s) "
            f"ORDER BY {cast(dim, 'f')} <=> %s::vector({dim}) LIMIT %s"
        )
        over = (
            f"WITH c AS MATERIALIZED (SELECT f.id, f.owner_id, f.assignment, {cast(dim, 'f')} <=> %s::vector({dim}) AS d "  # noqa: S608
            f"FROM {OWNERS_TABLE} f WHERE f.embedder = '{EMBEDDER}' AND f.assignment IN ('enrolled', 'confirmed') "
            f"ORDER BY {cast(dim, 'f')} <=> %s::vector({dim}) LIMIT %s) "
            f"SELECT id FROM c WHERE assignment = 'enrolled' OR owner_id = %s ORDER BY d LIMIT %s"
        )
        strategies = {
            "union (production)": (args.ef[-1], lambda v, u: (union, [v, v, k, v, u, k, k])),
            "one index, post-filter": (args.ef[-1], lambda v, u: (post, [u, v, k])),
            f"one index, over-fetch {args.overfetch}": (
                args.overfetch,
                lambda v, u: (over, [v, v, args.overfetch, u, k]),
            ),
            "exact (no index)": (0, lambda v, u: (post, [u, v, k])),
        }
        plans = {}

        def configure(ef: int) -> None:
            # ef 0 stands for exact search: the planner may not use an index (pgvector's own recall check).
            cursor.execute(f"SET enable_indexscan = {'off' if ef == 0 else 'on'}")
            cursor.execute(f"SET hnsw.ef_search = {max(int(ef), 1)}")

        for name, (ef, make) in strategies.items():
            configure(ef)
            sql, params = make(_lit(queries[0]), int(query_owner[0]))
            cursor.execute("EXPLAIN " + sql, params)
            plans[name] = "\n".join(r[0] for r in cursor.fetchall())
        found: dict[str, list[list[int]]] = {name: [] for name in strategies}
        latency: dict[str, list[float]] = {name: [] for name in strategies}
        for i, (q, u) in enumerate(zip(queries, query_owner, strict=True)):
            literal = _lit(q)
            for name, (ef, make) in strategies.items():  # interleaved: each query runs every strategy
                configure(ef)
                sql, params = make(literal, int(u))
                t0 = time.perf_counter()
                cursor.execute(sql, params)
                rows = cursor.fetchall()
                if i >= 10:  # the first ten warm the caches
                    latency[name].append((time.perf_counter() - t0) * 1000.0)
                found[name].append([r[0] for r in rows])
        print(
            f"{n_owned} confirmed faces over {args.owners} owners ({n_owned // args.owners} each) + a directory of "
            f"{n_dir} enrolled faces; dim {dim}; each owner {private_per_owner} private + {popular_per_owner} of "
            f"{args.popular} popular people, {per_person} faces each; {args.queries} queries "
            f"(40 % popular, 30 % private, 30 % directory), k={k}"
        )
        print(
            f"load {load_s:.1f} s; HNSW build: directory-only partial index {build_dir:.1f} s, "
            f"index over every reference {build_all:.1f} s\n"
        )
        header = f"{'strategy':<28} {'ef_search':>9} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>10} {'rows/10':>8} plan"
        print(header)
        print("-" * len(header))
        base = statistics.median(latency["union (production)"])
        for name, (ef, _) in strategies.items():
            lat = latency[name]
            rec = float(np.mean([len(set(f) & set(t.tolist())) / k for f, t in zip(found[name], truth, strict=True)]))
            filled = float(np.mean([len(f) for f in found[name]]))
            plan = plans[name]
            uses = ", ".join(x for x in ("bench_owned_emb_", "bench_owned_all_hnsw", "bench_owned_refs") if x in plan)
            uses = uses or ("Seq Scan" if "Seq Scan" in plan else plan.splitlines()[0][:40])
            print(
                f"{name:<28} {ef:>9} {statistics.median(lat):>7.2f} {statistics.quantiles(lat, n=20)[18]:>7.2f} "
                f"{rec:>10.3f} {filled:>8.1f} {uses}  (p50 ×{statistics.median(lat) / base:.2f})",
                flush=True,
            )
        if not args.keep:
            cursor.execute(f"DROP TABLE {OWNERS_TABLE}")


def _lit(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in v) + "]"


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
    parser.add_argument("--owners", type=int, default=0, help="owner-filter mode: spread --sizes rows over N owners")
    parser.add_argument("--directory", type=int, default=10_000, help="owner mode: enrolled directory faces")
    parser.add_argument(
        "--overfetch", type=int, default=400, help="owner mode: candidates the over-fetch strategy scans"
    )
    parser.add_argument("--popular", type=int, default=50, help="owner mode: people in many owners' photos")
    args = parser.parse_args()
    setup_django()
    if args.owners:
        global EMBEDDER
        # The table's rows carry an embedder whose size matches --dim (the SQL casts to that size).
        EMBEDDER = {128: "dlib-resnet-v1", 512: "facenet-casia-webface"}[args.dim]
        owners_main(args)
        return
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
