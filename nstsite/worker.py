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
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from django.conf import settings
from rq import SimpleWorker

log = logging.getLogger(__name__)

# Per queue, the function that loads that queue's models into their process-wide caches.
WARMERS = {"style": "gallery.engines.warm_up", "faces": "faces.engines.warm_up"}


def warm_up(queue_names: list[str]) -> None:
    for name in queue_names:
        path = WARMERS.get(name)
        if path:
            module, func = path.rsplit(".", 1)
            log.info("warming models for queue %s", name)
            getattr(importlib.import_module(module), func)()


class WarmWorker(SimpleWorker):
    def work(self, *args: Any, **kwargs: Any) -> bool:
        from nstsite.jobs import reap_all_stale

        reaped = reap_all_stale()  # rows left "running" by a worker that died before this one started
        if reaped:
            log.warning("marked %d job(s) of dead workers as failed", reaped)
        if settings.WORKER_WARMUP:
            warm_up(self.queue_names())
        return super().work(*args, **kwargs)
