"""Where each of a user's renders stands: its place in the style queue and a time to finish.

Read-only: it looks at the renders table (every user's queued and running renders count for
the place in line, but only counts leave this module) and asks Redis how many style workers are
listening. Times come from the render's own estimate (Gatys) or from how long recent renders of
the same kind took on this server.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

import django_rq
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker

from gallery.capacity import STYLE_QUEUE
from gallery.models import Render
from nstsite.models import TaskStatus

# Before any render of a kind has finished here: rough figures for a CPU server.
DEFAULT_SECONDS = {"preset": 3.0, "arbitrary": 6.0, "fast": 3.0, "gatys": 120.0}
RECENT = 200  # finished renders that the typical durations are taken from


@dataclasses.dataclass(frozen=True)
class RenderProgress:
    position: int | None  # 1 = the next render a style worker takes; None when running
    eta_seconds: float  # until it is finished


def typical_seconds() -> dict[str, float]:
    """Mean run time of recent successful renders, per method (defaults where there are none)."""
    rows = (
        Render.objects.filter(status=TaskStatus.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("method", "started_at", "finished_at")[:RECENT]
    )
    times: dict[str, list[float]] = defaultdict(list)
    for method, started, finished in rows:
        if started and finished:  # (the filter guarantees both; this tells the type checker)
            times[method].append((finished - started).total_seconds())
    return {method: (sum(times[method]) / len(times[method])) if times[method] else fallback
            for method, fallback in DEFAULT_SECONDS.items()}  # fmt: skip


def style_workers() -> int:
    try:
        return max(1, Worker.count(queue=django_rq.get_queue(STYLE_QUEUE)))
    except RedisError:
        return 1


def renders_progress(*, renders: Iterable[Render]) -> dict[int, RenderProgress]:
    """``{render id: RenderProgress}`` for the queued and running renders among ``renders``."""
    wanted = {r.pk for r in renders if r.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)}
    if not wanted:
        return {}
    typical = typical_seconds()
    now = timezone.now()
    result: dict[int, RenderProgress] = {}
    backlog = 0.0  # work the workers have before they can start the next queued render
    running = Render.objects.filter(status=TaskStatus.RUNNING).values_list(
        "id", "method", "estimated_seconds", "progress", "started_at"
    )
    for pk, method, estimated, progress, started in running:
        total = estimated or typical.get(method, 10.0)
        elapsed = (now - started).total_seconds() if started else 0.0
        if progress and progress > 0.02 and elapsed > 0:
            total = elapsed / progress  # measured pace beats the estimate once it has started
        remaining = max(1.0, total - elapsed)
        backlog += remaining
        if pk in wanted:
            result[pk] = RenderProgress(position=None, eta_seconds=remaining)
    workers = style_workers()
    queued = Render.objects.filter(status=TaskStatus.QUEUED).order_by("queued_at", "id")
    ahead = 0.0
    for position, (pk, method, estimated) in enumerate(
        queued.values_list("id", "method", "estimated_seconds"), start=1
    ):
        own = estimated or typical.get(method, 10.0)
        if pk in wanted:
            result[pk] = RenderProgress(position=position, eta_seconds=(backlog + ahead) / workers + own)
        ahead += own
        if len(result) == len(wanted):
            break
    return result
