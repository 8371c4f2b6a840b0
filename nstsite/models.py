"""Shared model behaviour: the life cycle of a row that a background job works on."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Self

from django.db import models
from django.utils import timezone


class TaskStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (TaskStatus.QUEUED, TaskStatus.RUNNING)


class BackgroundTask(models.Model):
    """A row owned by one RQ job at a time.

    Transitions are conditional updates (``filter(status=...).update(...)``), so a job that runs
    twice, a retry racing a cancel, or a late failure callback can never move a finished row.
    ``heartbeat_at`` is refreshed while a job runs; a running row whose heartbeat stops is
    failed by :meth:`reap_stale`, so a worker that dies never leaves a row "running" forever.
    """

    status = models.CharField(max_length=12, choices=TaskStatus.choices, default=TaskStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    error = models.TextField(blank=True, help_text="Why it failed, in words a user can act on.")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker_name = models.CharField(max_length=200, blank=True)

    # Annotation only (no runtime attribute): every concrete subclass gets Django's implicit
    # ``objects`` manager, but the stubs give an abstract model none, so the classmethods below
    # would not type-check without it.
    objects: ClassVar[models.Manager[Self]]

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_finished(self) -> bool:
        return not self.is_active

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @classmethod
    def claim(cls, pk: int, *, worker_name: str = "") -> bool:
        """Move a queued row to running; False if it was cancelled, finished or claimed already."""
        now = timezone.now()
        return bool(
            cls.objects.filter(pk=pk, status=TaskStatus.QUEUED).update(
                status=TaskStatus.RUNNING, started_at=now, heartbeat_at=now, worker_name=worker_name, error=""
            )
        )

    @classmethod
    def beat(cls, pk: int, **fields: object) -> None:
        cls.objects.filter(pk=pk, status=TaskStatus.RUNNING).update(heartbeat_at=timezone.now(), **fields)

    @classmethod
    def fail(cls, pk: int, reason: str) -> bool:
        return bool(
            cls.objects.filter(pk=pk, status__in=ACTIVE).update(
                status=TaskStatus.FAILED, error=reason, finished_at=timezone.now()
            )
        )

    @classmethod
    def succeed(cls, pk: int, **fields: object) -> bool:
        """Move a running row to succeeded with its results in ``fields``; False if it is no longer running
        (cancelled or deleted meanwhile), so a late finish never overwrites a user's cancel."""
        return bool(
            cls.objects.filter(pk=pk, status=TaskStatus.RUNNING).update(
                status=TaskStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now(), **fields
            )
        )

    @classmethod
    def requeue(cls, pk: int, reason: str) -> bool:
        """A running row goes back to the queue (its job will be retried)."""
        return bool(
            cls.objects.filter(pk=pk, status=TaskStatus.RUNNING).update(
                status=TaskStatus.QUEUED, error=reason, started_at=None, heartbeat_at=None, progress=0.0
            )
        )

    @classmethod
    def cancel(cls, pk: int) -> bool:
        return bool(
            cls.objects.filter(pk=pk, status__in=ACTIVE).update(status=TaskStatus.CANCELLED, finished_at=timezone.now())
        )

    @classmethod
    def is_cancelled(cls, pk: int) -> bool:
        """True once the row is cancelled — or deleted, so a job never finishes work nobody can see."""
        return not cls.objects.filter(pk=pk).exclude(status=TaskStatus.CANCELLED).exists()

    @classmethod
    def reap_stale(cls, *, after: timedelta) -> int:
        """Fail running rows whose worker stopped sending heartbeats ``after`` ago."""
        return cls.objects.filter(status=TaskStatus.RUNNING, heartbeat_at__lt=timezone.now() - after).update(
            status=TaskStatus.FAILED,
            finished_at=timezone.now(),
            error="The worker processing this stopped unexpectedly (it may have run out of memory or been "
            "restarted). Nothing else was lost: press Retry, or try a smaller size.",
        )
