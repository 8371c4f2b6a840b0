"""Where each of a user's renders stands: its place in its lane (quick or slow) and a time to finish.

Read-only: it looks at the renders table (every user's queued and running renders count for
the place in line, but only counts leave this module) and asks Redis how many style workers are
listening. Times come from the render's own estimate (Gatys) or from how long recent renders of
the same kind took on this server.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable

import django_rq
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker

from gallery.capacity import SLOW_STYLE_QUEUE, STYLE_QUEUE
from gallery.models import Render, RenderMethod
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


def lane_of(method: str) -> str:
    """The worker lane a render of ``method`` waits in: Gatys in the slow one, the rest in the quick one."""
    return SLOW_STYLE_QUEUE if method == RenderMethod.GATYS else STYLE_QUEUE


def lane_workers(lane: str) -> int:
    try:
        return max(1, Worker.count(queue=django_rq.get_queue(lane)))
    except RedisError:
        return 1


def renders_progress(*, renders: Iterable[Render]) -> dict[int, RenderProgress]:
    """``{render id: RenderProgress}`` for the queued and running renders among ``renders``.

    Positions and waits count only the renders of the same lane: a preset never waits behind Gatys.
    """
    wanted = {r.pk for r in renders if r.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)}
    if not wanted:
        return {}
    typical = typical_seconds()
    now = timezone.now()
    result: dict[int, RenderProgress] = {}
    backlog: dict[str, float] = defaultdict(float)  # work each lane has before it can start its next render
    running = Render.objects.filter(status=TaskStatus.RUNNING).values_list(
        "id", "method", "estimated_seconds", "progress", "started_at"
    )
    for pk, method, estimated, progress, started in running:
        total = estimated or typical.get(method, 10.0)
        elapsed = (now - started).total_seconds() if started else 0.0
        if progress and progress > 0.02 and elapsed > 0:
            total = elapsed / progress  # measured pace beats the estimate once it has started
        remaining = max(1.0, total - elapsed)
        backlog[lane_of(method)] += remaining
        if pk in wanted:
            result[pk] = RenderProgress(position=None, eta_seconds=remaining)
    workers = {lane: lane_workers(lane) for lane in (STYLE_QUEUE, SLOW_STYLE_QUEUE)}
    ahead: dict[str, float] = defaultdict(float)
    positions: dict[str, int] = defaultdict(int)
    queued = Render.objects.filter(status=TaskStatus.QUEUED).order_by("queued_at", "id")
    for pk, method, estimated in queued.values_list("id", "method", "estimated_seconds"):
        lane = lane_of(method)
        positions[lane] += 1
        own = estimated or typical.get(method, 10.0)
        if pk in wanted:
            wait = (backlog[lane] + ahead[lane]) / workers[lane]
            result[pk] = RenderProgress(position=positions[lane], eta_seconds=wait + own)
        ahead[lane] += own
        if len(result) == len(wanted):
            break
    return result


def _duration(seconds: float) -> str:
    return f"{round(seconds / 60)} min" if seconds >= 90 else f"{round(seconds)} s"


def status_text(render: Render, progress: RenderProgress | None) -> str:
    """Where ``render`` stands, in the words every page and the API use (``status_text``):
    "Waiting · number 2 in line · about 3 min left", "Running · 66% · about 40 s left", "Succeeded"."""
    if render.status == TaskStatus.QUEUED:
        text = "Waiting" + (f" · number {progress.position} in line" if progress and progress.position else "")
    elif render.status == TaskStatus.RUNNING:
        text = f"Running · {round(100 * render.progress)}%"
    else:
        return render.get_status_display()
    known = progress is not None and math.isfinite(progress.eta_seconds)  # a row may hold a NaN estimate
    return text + (f" · about {_duration(progress.eta_seconds)} left" if progress and known else "")
