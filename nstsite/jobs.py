"""Enqueueing and failure handling shared by every job.

Jobs take ids, never model instances or image bytes (failed jobs keep their arguments in Redis).
They are enqueued after the transaction commits, retried once when the failure looks transient
(a dead worker, a lost connection), and every final failure marks the owning row failed with a
reason a user can act on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django_rq.connection_utils import get_redis_connection
from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.timeouts import JobTimeoutException

from ml.images import ImageError
from ml.weights import CorruptWeightsError, MissingWeightsError
from nstsite.models import BackgroundTask

log = logging.getLogger(__name__)


def redis_connection() -> Redis:
    """The Redis that every queue lives on (``settings.REDIS_URL``), for what belongs to no one app's
    queue: the health check and the workers' advertised capabilities."""
    return get_redis_connection({"URL": settings.REDIS_URL})


QUEUE_DOWN = (
    "The job queue is unavailable right now, so this could not be started. Your upload is saved: "
    "press Retry in a minute."
)


LOST_TOO_LONG = (
    "The job queue lost this job (a service restarted) and it waited too long to be restarted "
    "automatically. Nothing was lost: press Retry."
)


class WorkerDied(Exception):
    """Raised into failure callbacks when a worker process vanished mid-job."""


@dataclass(frozen=True)
class TaskKind:
    """How rows of one model are run: its queue, job function and time limit.

    Every kind fails its rows through the one failure callback, :func:`task_failed`.
    """

    model: type[BackgroundTask]
    queue: str
    run: Callable[[int], None]
    timeout_setting: str | None = None
    # When rows of one model go to different queues (a Gatys render on VGG19 to "gatys-vgg19"):
    # the queue of row ``pk`` (nstsite/capabilities.py describes the routing).
    route: Callable[[int], str] | None = None

    def queue_for(self, pk: int) -> str:
        return self.route(pk) if self.route else self.queue

    def send(self, pk: int) -> None:
        """Enqueue row ``pk``'s job once the current transaction commits."""
        timeout = getattr(settings, self.timeout_setting) if self.timeout_setting else None
        enqueue(self.queue_for(pk), self.run, self.model, pk, job_timeout=timeout)


_KINDS: dict[type[BackgroundTask], TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    """Declare how a model's rows are run, so the reconciler can restart a row whose job was lost."""
    _KINDS[kind.model] = kind
    return kind


def send(model: type[BackgroundTask], pk: int) -> None:
    """Enqueue the job of row ``pk`` of ``model`` (a registered kind) once the transaction commits."""
    kind = next((k for k in kinds() if k.model is model), None)
    if kind is None:
        raise LookupError(f"no job is registered for {model.__name__}")
    kind.send(pk)


def kinds() -> list[TaskKind]:
    """Every registered kind; importing each app's ``jobs`` module registers its kinds."""
    from importlib import import_module

    from django.apps import apps

    for app in apps.get_app_configs():
        if any(issubclass(m, BackgroundTask) for m in app.get_models()):
            import_module(f"{app.name}.jobs")
    return list(_KINDS.values())


def enqueue_after_commit(
    queue: str,
    func: Callable[..., Any],
    *args: Any,
    when_down: Callable[[], object] | None = None,
    **options: Any,
) -> None:
    """The one way anything is enqueued: ``func(*args)`` on ``queue`` once the current transaction
    commits (at once outside one), so a worker never looks for a row that is not there yet.

    ``options`` are RQ's (``job_id``, ``at_front``, ``result_ttl``, ``job_timeout``, …). If Redis
    cannot be reached the error is logged and ``when_down()`` runs (fail the row, forget a
    "pending" mark); what the request saved stays saved.
    """

    def _send() -> None:
        try:
            django_rq.get_queue(queue).enqueue(func, *args, **options)
        except RedisError:
            log.exception("could not enqueue %s%s on %s", func.__name__, args, queue)
            if when_down is not None:
                when_down()

    transaction.on_commit(_send)


def enqueue(
    queue: str,
    func: Callable[..., Any],
    task_model: type[BackgroundTask],
    pk: int,
    *,
    job_timeout: int | None = None,
) -> None:
    """Enqueue the job of row ``pk`` after commit, retried ``RQ_RETRY_MAX`` times; :func:`task_failed`
    handles its failure. If Redis cannot be reached the row is failed with :data:`QUEUE_DOWN`."""
    enqueue_after_commit(
        queue,
        func,
        pk,
        when_down=lambda: task_model.fail(pk, QUEUE_DOWN),
        job_timeout=job_timeout,
        retry=Retry(max=settings.RQ_RETRY_MAX) if settings.RQ_RETRY_MAX else None,
        failure_ttl=settings.RQ_FAILURE_TTL,
        on_failure=Callback(task_failed),
    )


def user_message(exc_type: type[BaseException] | None, exc: BaseException | None) -> str:
    """The reason shown to the user for a job that failed with ``exc``."""
    if exc_type is not None and issubclass(exc_type, JobTimeoutException):
        return "This took longer than the time limit and was stopped. Try a smaller size or fewer iterations."
    if exc_type is not None and issubclass(exc_type, WorkerDied | _abandoned()):
        return "The worker processing this stopped unexpectedly. Nothing was lost: press Retry."
    if exc is not None and getattr(exc, "user_message", None):
        return str(exc.user_message)  # type: ignore[attr-defined]
    if isinstance(exc, ImageError | MissingWeightsError | CorruptWeightsError):
        return str(exc)  # these carry messages written for people
    name = exc_type.__name__ if exc_type else "unknown error"
    return f"Something went wrong while processing ({name}). Please retry."


def _abandoned() -> type[BaseException]:
    from rq.exceptions import AbandonedJobError

    return AbandonedJobError


def handle_failure(
    task_model: type[BackgroundTask], job: Job, exc_type: type[BaseException] | None, exc: BaseException | None
) -> None:
    """RQ failure callback body: retry transient failures, fail the row otherwise.

    RQ calls failure callbacks on every failed attempt, including ones it is about to retry, so
    the row goes back to "queued" only when a retry is really coming.
    """
    close_old_connections()
    pk = job.args[0]
    transient = exc_type is not None and issubclass(exc_type, WorkerDied | _abandoned() | ConnectionError)
    if transient and job.retries_left:
        task_model.requeue(pk, "Retrying after the worker stopped.")
    else:
        task_model.fail(pk, user_message(exc_type, exc))


def task_failed(
    job: Job, connection: Any, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: Any
) -> None:
    """The RQ failure callback of every job: the kind whose function the job ran fails or requeues its row."""
    name = job.func_name or ""
    kind = next((k for k in kinds() if _job_name(k.run) == name), None)
    if kind is None:
        log.error("failed job %s ran %s, which no registered kind runs; no row to fail", job.id, name)
        return
    handle_failure(kind.model, job, exc_type, exc)


def run_task(model: type[BackgroundTask], pk: int, body: Callable[[int], object]) -> None:
    """The shape of every job: claim row ``pk`` of ``model``, then run ``body(pk)`` while beating its heartbeat.

    A row that is cancelled, finished or claimed by another worker already is left alone, so a job
    that runs twice does nothing the second time.
    """
    if not model.claim(pk, worker_name=current_worker_name()):
        return
    with heartbeat(model, pk):
        body(pk)


@contextmanager
def heartbeat(
    task_model: type[BackgroundTask], pk: int | Collection[int], *, every: float | None = None
) -> Iterator[None]:
    """Refresh the row's heartbeat (or every row's, for a job that took on several) from a side
    thread while the block runs.

    A side thread keeps beating even while the job sits inside one long PyTorch call; if the
    process dies, the beats stop and :meth:`BackgroundTask.reap_stale` fails the row.
    """
    interval = every or settings.TASK_HEARTBEAT_SECONDS
    stop = threading.Event()
    pks = [pk] if isinstance(pk, int) else list(pk)

    def _beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    for one in pks:
                        task_model.beat(one)
                except Exception:  # a missed beat must never kill the job
                    log.warning("heartbeat for %s %s failed", task_model.__name__, pk, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=_beat, name=f"heartbeat-{task_model.__name__}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def current_worker_name() -> str:
    """The name of the RQ worker running the current job ("" outside a worker)."""
    from rq import get_current_job

    job = get_current_job()
    return (job.worker_name or "") if job is not None else ""


def stale_after() -> timedelta:
    return timedelta(seconds=settings.TASK_STALE_SECONDS)


def reap_all_stale() -> int:
    """Fail the running rows of every job-owned model whose worker stopped beating; returns how many."""
    from django.apps import apps

    models = [m for m in apps.get_models() if issubclass(m, BackgroundTask)]
    return sum(model.reap_stale(after=stale_after()) for model in models)


# --- reconciling rows with the queue ----------------------------------------------------------


def _live_jobs(queue: Queue) -> set[tuple[str, Any]]:
    """``(function name, first argument)`` of every job that will still run on ``queue``.

    Waiting, started, scheduled (a retry with a delay) and deferred jobs are live; failed,
    finished, cancelled and vanished ones are not.
    """
    ids = set(queue.get_job_ids())
    for registry in (StartedJobRegistry, ScheduledJobRegistry, DeferredJobRegistry):
        ids.update(registry(queue=queue).get_job_ids(cleanup=False))
    live: set[tuple[str, Any]] = set()
    for job in Job.fetch_many(sorted(ids), connection=queue.connection):
        if job is None:
            continue
        try:
            live.add((job.func_name or "", job.args[0] if job.args else None))
        except Exception:  # noqa: BLE001 - a job we cannot even decode will never run our rows
            log.warning("unreadable job %s on %s", job.id, queue.name)
    return live


def _job_name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def reconcile(*, grace: timedelta | None = None, max_age: timedelta | None = None) -> dict[str, int]:
    """Make queued rows and the queue agree; returns ``{"requeued": n, "failed": m}``.

    A row "queued" for longer than ``grace`` whose job is not waiting, running or scheduled (the
    worker burned through it while PostgreSQL was down, Redis lost it, the enqueue never
    happened) is enqueued again; if it has been queued for longer than ``max_age`` it is failed
    with :data:`LOST_TOO_LONG` instead, so nothing stays "queued" forever. The grace period keeps
    rows whose enqueue is still on its way (``on_commit``) out of it. Redis being down is not an
    error here: there is nothing to compare with, so nothing changes.
    """
    grace = grace if grace is not None else timedelta(seconds=settings.RECONCILE_GRACE_SECONDS)
    max_age = max_age if max_age is not None else timedelta(seconds=settings.RECONCILE_MAX_AGE_SECONDS)
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0}
    live_by_queue: dict[str, set[tuple[str, Any]]] = {}
    for kind in kinds():
        rows = list(
            kind.model.objects.filter(status="queued", queued_at__lt=now - grace).values_list("pk", "queued_at")
        )
        name = _job_name(kind.run)
        for pk, queued_at in rows:
            queue = kind.queue_for(pk)
            try:
                if queue not in live_by_queue:
                    live_by_queue[queue] = _live_jobs(django_rq.get_queue(queue))
            except RedisError:
                log.warning("reconcile: the queue %s is unreachable; trying again later", queue)
                continue
            if (name, pk) in live_by_queue[queue]:
                continue
            if queued_at < now - max_age:
                counts["failed"] += kind.model.fail(pk, LOST_TOO_LONG)
                continue
            log.warning("reconcile: %s %s was queued but its job is gone; enqueuing it again", kind.model.__name__, pk)
            with transaction.atomic():
                kind.send(pk)
            counts["requeued"] += 1
    return counts


def ensure_enqueued(model: type[BackgroundTask], pk: int) -> bool:
    """Enqueue a queued row again if its job is gone (a user asked again); True when it was sent."""
    kind = next((k for k in kinds() if k.model is model), None)
    if kind is None:
        return False
    if not model.objects.filter(pk=pk, status="queued").exists():
        return False
    try:
        if (_job_name(kind.run), pk) in _live_jobs(django_rq.get_queue(kind.queue_for(pk))):
            return False
    except RedisError:
        model.fail(pk, QUEUE_DOWN)
        return False
    kind.send(pk)
    return True
