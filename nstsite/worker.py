"""The RQ worker class nstsite runs: jobs in the worker's own process, models kept warm.

Why not RQ's default forking ``Worker``: it runs each job in a fresh fork. CUDA cannot be used
in a forked child, and on CPU a fork taken after PyTorch has run any parallel op hangs in
OpenMP (we saw it); loading models inside each fork instead costs seconds per job. So every
nstsite worker is a ``SimpleWorker``: models load once per process (``WORKER_WARMUP``) and stay
warm between jobs, on CPU and GPU alike. What we give up, and how we get it back:

* isolation — a crash takes the worker down: ``make run`` restarts it, and the job's row is
  failed by the heartbeat reaper (``BackgroundTask.reap_stale``) within ``TASK_STALE_SECONDS``;
* RQ's heartbeat during a job — our jobs beat their own rows from a side thread
  (``nstsite.jobs.heartbeat``);
* memory growth — run with ``--max-jobs`` to recycle the process if needed.

Each worker also advertises what it can do (``nstsite.capabilities``) and, before it listens, drops
any queue whose jobs it could not run (a ``gatys-vgg19`` queue without the VGG19 weights).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from rq import SimpleWorker

from nstsite.apps import queue_apps

log = logging.getLogger(__name__)


def refused_queues(queue_names: list[str]) -> dict[str, str]:
    """``{queue: reason}`` for each queue this process cannot serve (each app judges its own queues)."""
    refused = {}
    for name in queue_names:
        for app in queue_apps():
            reason = app.refuse_queue(name)
            if reason:
                refused[name] = reason
                break
    return refused


def capabilities_of(worker_name: str, queue_names: list[str]) -> Any:
    from nstsite.capabilities import Capabilities

    record: dict[str, Any] = {}
    for app in queue_apps():
        record.update(app.capabilities(queue_names))
    return Capabilities(worker=worker_name, queues=list(queue_names), **record)


def warm_up(queue_names: list[str]) -> None:
    for app in queue_apps():
        if set(app.worker_queues) & set(queue_names):
            log.info("warming %s's models for queues %s", app.label, ", ".join(queue_names))
            app.warm_up(queue_names)


def when_idle(queue_names: list[str]) -> bool:
    """Each app's idle work (``QueueAppConfig.when_idle``); True while any app has more due."""
    due = False
    for app in queue_apps():
        if set(app.worker_queues) & set(queue_names):
            try:
                due = app.when_idle(queue_names) or due
            except Exception:  # idle work is an improvement, never a reason to stop taking jobs
                log.warning("idle work of %s failed", app.label, exc_info=True)
    return due


def _sweep() -> None:
    """Fail rows of dead workers and restart queued rows whose job the queue lost."""
    from nstsite.jobs import reap_all_stale, reconcile

    reaped = reap_all_stale()  # rows left "running" by a worker that died before this one started
    if reaped:
        log.warning("marked %d job(s) of dead workers as failed", reaped)
    counts = reconcile()
    if any(counts.values()):
        log.warning("reconciled queued rows with the queue: %s", counts)


def database_answers() -> bool:
    try:
        close_old_connections()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        connection.close()  # a broken connection is not reused
        return False


class WarmWorker(SimpleWorker):
    def __init__(self, queues: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(queues, *args, **kwargs)
        refused = refused_queues(self.queue_names())
        for name, reason in refused.items():
            log.warning("not listening on queue %s: %s", name, reason)
        if refused:
            self.queues = [q for q in self.queues if q.name not in refused]
            self._ordered_queues = self.queues[:]
        if not self.queues:
            raise SystemExit(f"no queue left that this worker can serve ({'; '.join(refused.values())})")

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """RQ's wait for the next job, woken every ``WORKER_IDLE_SECONDS`` while idle work is due
        (e.g. re-measuring a throughput the start-up rush slowed down). Burst mode never waits."""
        idle_due = settings.WORKER_WARMUP and timeout is not None and max_idle_time is None
        while idle_due:
            result = super().dequeue_job_and_maintain_ttl(timeout, settings.WORKER_IDLE_SECONDS)
            if result is not None:
                return result
            idle_due = when_idle(self.queue_names())
            self.advertise_now()  # a re-measured figure reaches the web tier at once
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def advertise_now(self) -> None:
        """Write this worker's capability record (``nstsite.capabilities``) with what it can do now."""
        from nstsite.capabilities import advertise

        try:
            advertise(capabilities_of(self.name, self.queue_names()))
        except Exception:  # Redis blinking: the next refresh will tell
            log.warning("could not advertise this worker's capabilities", exc_info=True)

    def _advertise(self, stop: threading.Event) -> None:
        """Keep this worker's capability record alive (also during a long job) until ``stop``."""
        while True:
            self.advertise_now()
            if stop.wait(max(1, settings.WORKER_CAPABILITY_TTL // 3)):
                return

    def _withdraw(self) -> None:
        from nstsite.capabilities import withdraw

        try:
            withdraw(self.name)
        except Exception:  # the record expires by itself
            log.debug("could not withdraw capabilities", exc_info=True)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        _sweep()
        if settings.WORKER_WARMUP:
            warm_up(self.queue_names())
        stop = threading.Event()
        beater = threading.Thread(target=self._beat, args=(stop,), name="worker-heartbeat", daemon=True)
        beater.start()
        advertiser = threading.Thread(target=self._advertise, args=(stop,), name="capabilities", daemon=True)
        advertiser.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
            beater.join()
            advertiser.join()
            self._withdraw()

    def _beat(self, stop: threading.Event) -> None:
        """Keep our RQ registration fresh even while a long job runs in this process (``/healthz``)."""
        while not stop.wait(settings.WORKER_BEAT_SECONDS):
            try:
                self.heartbeat()
            except Exception:  # Redis blinking: the next beat will tell
                log.debug("worker heartbeat failed", exc_info=True)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            _sweep()
        except Exception:  # maintenance must never stop the worker
            log.warning("sweeping rows failed; trying again at the next maintenance", exc_info=True)

    def execute_job(self, job: Any, queue: Any) -> Any:
        # Every job needs the database. While it is down, wait (beating our own RQ heartbeat) instead
        # of burning through the queue: each job would fail in milliseconds and its failure callback
        # could not even mark the row. After WORKER_DB_WAIT_SECONDS the job runs and fails normally;
        # the reconciler restarts its row once the database is back.
        waited, pause = 0.0, 0.5
        while not database_answers() and waited < settings.WORKER_DB_WAIT_SECONDS:
            if waited == 0:
                log.warning("the database is unreachable; holding job %s until it answers", job.id)
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, 5.0)
            self.heartbeat()
        return super().execute_job(job, queue)
