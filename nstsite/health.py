"""``/healthz``: is every service this site needs alive? 200 when all are, 503 otherwise.

Anonymous callers (load balancers, uptime probes) get the status only; staff, or a monitor sending
``Authorization: Bearer $HEALTHZ_TOKEN``, also get each service's details (versions, worker names,
heartbeat ages), which would otherwise tell strangers how the site is built.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from rq import Worker
from rq.worker import BaseWorker

from nstsite.apps import required_queues
from nstsite.jobs import redis_connection


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        return {"ok": False, "error": "the pgvector extension is not installed (run migrations)"}
    return {"ok": True, "vendor": connection.vendor, "pgvector": row[0]}


def _redis() -> dict[str, Any]:
    redis_connection().ping()
    return {"ok": True}


def _process_gone(worker: BaseWorker) -> bool:
    """True when ``worker`` ran on this host and its process no longer exists (a crash, a kill -9)."""
    if worker.hostname != socket.gethostname() or not worker.pid:
        return False
    try:
        os.kill(worker.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _live(worker: BaseWorker, now: datetime) -> bool:
    """A registered worker counts as live only if it beat recently and (on this host) its process exists.

    RQ keeps a dead worker's key for minutes; our workers beat every ``WORKER_BEAT_SECONDS`` from a
    side thread even during a long job, so a silence of ``WORKER_LIVE_SECONDS`` means it is gone.
    """
    if worker.last_heartbeat is None or _process_gone(worker):
        return False
    age = (now - worker.last_heartbeat.replace(tzinfo=UTC)).total_seconds()
    return age <= settings.WORKER_LIVE_SECONDS


def _workers() -> dict[str, Any]:
    redis = redis_connection()
    now = datetime.now(UTC)
    registered = Worker.all(connection=redis)  # workers whose key has not expired yet (may be dead)
    workers = [w for w in registered if _live(w, now)]
    per_queue = {q: sum(1 for w in workers if q in w.queue_names()) for q in required_queues()}
    missing = [q for q, n in per_queue.items() if n == 0]
    beats = {
        w.name: round((now - w.last_heartbeat.replace(tzinfo=UTC)).total_seconds()) if w.last_heartbeat else None
        for w in registered
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
    body: dict[str, Any] = {"status": "ok" if healthy else "unhealthy"}
    if _may_see_details(request):
        body.update(checks)
    return JsonResponse(body, status=200 if healthy else 503)


def _may_see_details(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    return bool(token) and constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}")
