"""What each live worker can do, advertised in Redis with a time-to-live.

A worker may run on another host with another device and other weights than the web tier, so the
web tier must not decide "can Gatys run?" or "how long will it take?" from its own disk and CPU.
Every worker (``nstsite.worker.WarmWorker``) writes one record — its device, the queues it takes,
the Gatys loss networks and face embedders whose weights it has, and the throughput it measured —
under ``nstsite:capabilities:<worker name>`` with a TTL of ``WORKER_CAPABILITY_TTL`` seconds, and
rewrites it every third of that from a side thread (also during a long job). A worker that stops,
crashes or loses its host simply drops out when its record expires; a clean stop deletes it at once.

Queue routing (``gallery.capacity.gatys_queue``; docs/deploy.md):

* ``style`` — every style job that needs only the weights shipped in the Python packages: presets,
  arbitrary styles, trained ``fast`` styles, previews, and Gatys on an offline loss network;
* ``gatys-<network>`` — Gatys on a loss network whose weights are downloaded (``gatys-vgg19``).
  A worker started with such a queue but without the weights drops the queue at start-up (and
  says so in its log), so it never receives a job it cannot run;
* ``faces`` — face scans, enrollment, identification and verification uploads.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

from nstsite.jobs import redis_connection

log = logging.getLogger(__name__)

KEY_PREFIX = "nstsite:capabilities:"


@dataclass(frozen=True)
class Capabilities:
    """One worker's advertisement. ``loss_networks`` maps a network to ``{"flops": float | None,
    "source": str, "random_weights": bool}`` (``flops``: effective FLOP/s this worker measured)."""

    worker: str
    queues: list[str]
    device: str = ""
    host: str = field(default_factory=socket.gethostname)
    loss_networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    embedders: list[str] = field(default_factory=list)
    updated: float = field(default_factory=time.time)

    @property
    def device_type(self) -> str:
        """``cpu``, ``cuda``, ``mps``: the first word of the device label."""
        return self.device.split()[0].split(":")[0].lower() if self.device else "cpu"


def advertise(capabilities: Capabilities, *, ttl: int | None = None) -> None:
    """Write (or refresh) ``capabilities`` with its time-to-live."""
    seconds = ttl or settings.WORKER_CAPABILITY_TTL
    record = json.dumps({**asdict(capabilities), "updated": time.time()})
    redis_connection().set(KEY_PREFIX + capabilities.worker, record, ex=seconds)


def withdraw(worker: str) -> None:
    """Remove ``worker``'s record at once (a clean stop)."""
    redis_connection().delete(KEY_PREFIX + worker)


def live() -> list[Capabilities]:
    """Every worker whose record has not expired. Redis down: none (nothing can be promised)."""
    try:
        redis = redis_connection()
        keys = sorted(redis.scan_iter(match=KEY_PREFIX + "*", count=500))
        records = redis.mget(keys) if keys else []
    except RedisError:
        log.warning("cannot read worker capabilities: Redis is unreachable")
        return []
    result = []
    for raw in records:
        if raw is None:  # expired between SCAN and MGET
            continue
        try:
            result.append(Capabilities(**json.loads(raw)))
        except (TypeError, ValueError):
            log.warning("ignoring an unreadable worker capability record")
    return result
