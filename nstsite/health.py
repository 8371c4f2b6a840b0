"""``/healthz``: is every service this site needs alive? 200 when all are, 503 otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_rq
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from rq import Worker

QUEUES = ("style", "faces")


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        return {"ok": False, "error": "the pgvector extension is not installed (run migrations)"}
    return {"ok": True, "vendor": connection.vendor, "pgvector": row[0]}


def _redis() -> dict[str, Any]:
    django_rq.get_connection("style").ping()
    return {"ok": True}


def _workers() -> dict[str, Any]:
    redis = django_rq.get_connection("style")
    workers = Worker.all(connection=redis)  # registered workers whose heartbeat key has not expired
    per_queue = {q: sum(1 for w in workers if q in w.queue_names()) for q in QUEUES}
    missing = [q for q, n in per_queue.items() if n == 0]
    now = datetime.now(UTC)
    beats = {
        w.name: round((now - w.last_heartbeat.replace(tzinfo=UTC)).total_seconds()) if w.last_heartbeat else None
        for w in workers
    }
    result: dict[str, Any] = {"ok": not missing, "workers": per_queue, "seconds_since_heartbeat": beats}
    if missing:
        result["error"] = f"no live worker for queue(s): {', '.join(missing)}"
    return result


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    from nstsite.jobs import reap_all_stale

    checks: dict[str, dict[str, Any]] = {}
    for name, check in (("database", _database), ("redis", _redis), ("workers", _workers)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - a health check reports every failure, whatever it is
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(c["ok"] for c in checks.values())
    if checks["database"]["ok"]:
        checks["database"]["stale_jobs_failed"] = reap_all_stale()  # a health probe is a natural sweeper
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503)
