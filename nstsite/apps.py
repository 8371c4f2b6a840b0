"""nstsite's own app, and the base class through which apps plug their queues into the workers.

nstsite imports no app. The launcher (``runstack``), the worker class (``nstsite.worker``) and
``/healthz`` learn each app's queues, warm-up and capabilities by asking the installed app configs
that subclass :class:`QueueAppConfig`.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps


class NstsiteConfig(AppConfig):
    default = True  # this module defines two AppConfig classes; this one is nstsite's
    name = "nstsite"
    verbose_name = "nstsite core"


class QueueAppConfig(AppConfig):
    """An app whose jobs run on RQ workers.

    The launcher starts one worker per group of :attr:`worker_groups`, listening on that group's
    queues in order. Every name is a key of ``settings.RQ_QUEUES`` (checked by
    ``tests/site/test_project_shape.py``).
    """

    #: One tuple of queues per worker the launcher starts for this app, first queue first
    #: (separate workers keep quick jobs from waiting behind slow ones).
    worker_groups: tuple[tuple[str, ...], ...] = ()
    #: Of those, the queues without which the app does not work: ``/healthz`` needs a live worker on each.
    required_queues: tuple[str, ...] = ()

    @property
    def worker_queues(self) -> tuple[str, ...]:
        """Every queue some worker of this app takes."""
        return tuple(queue for group in self.worker_groups for queue in group)

    def warm_up(self, queue_names: list[str]) -> None:
        """Load this app's models into their process-wide caches, for a worker on ``queue_names``."""

    def refuse_queue(self, queue_name: str) -> str:
        """Why this process must not listen on ``queue_name`` ("" when it may, or when it is not ours)."""
        return ""

    def capabilities(self, queue_names: list[str]) -> dict[str, Any]:
        """This app's part of the worker's capability record (``nstsite.capabilities``)."""
        return {}

    def when_idle(self, queue_names: list[str]) -> bool:
        """Work for a worker on ``queue_names`` that has no job right now (between jobs, in the worker's
        own thread); return True while more such work is due, so the worker comes back for it."""
        return False

    def enqueue_startup_jobs(self) -> None:
        """Work the launcher queues once per start, after migrations (e.g. thumbnails of packaged data)."""


def queue_apps() -> list[QueueAppConfig]:
    """The installed apps that run jobs on workers, in ``INSTALLED_APPS`` order."""
    return [config for config in apps.get_app_configs() if isinstance(config, QueueAppConfig)]


def required_queues() -> tuple[str, ...]:
    return tuple(queue for config in queue_apps() for queue in config.required_queues)
