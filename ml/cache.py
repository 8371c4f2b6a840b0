"""The one place loaded models live: a process-wide cache keyed by (kind, weights, device[, options]).

A worker loads each network once and every job reuses it (loading costs seconds; a forward pass
milliseconds). Everything in ``ml/`` that keeps a loaded network, and both apps' engines, go through
:data:`models`, so there is one answer to "what does this process hold, and how do I drop it"
(:meth:`ModelCache.clear`, for tests).

Entries are never evicted: a worker holds the few networks its queues need, and the only
open-ended kind (trained fast styles) is small (~7 MB each) and keyed by checkpoint names that are
never rewritten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar, cast

import torch

from ml.device import pick_device

T = TypeVar("T")

Key = tuple[str, str, str, tuple[Hashable, ...]]


class ModelCache:
    """Loaded models by (kind, weights, device, options); thread-safe, each built at most once per key."""

    def __init__(self) -> None:
        self._items: dict[Key, Any] = {}
        self._building: dict[Key, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(
        kind: str, weights: str | Path, device: str | torch.device | None, options: tuple[Hashable, ...] = ()
    ) -> Key:
        """The cache key: ``device`` is resolved (``"auto"`` → the device it means), so ``"cuda"`` and
        ``"cuda:0"`` stay distinct but ``"auto"`` and what it picks share one entry."""
        return (kind, str(weights), str(pick_device(device)), options)

    def get(
        self,
        kind: str,
        weights: str | Path,
        device: str | torch.device | None,
        build: Callable[[], T],
        *,
        options: tuple[Hashable, ...] = (),
    ) -> T:
        """The model for this key, calling ``build()`` the first time.

        ``kind`` names what is loaded (``"embedder:dlib-resnet-v1"``); ``weights`` the file (path or
        storage name) it comes from; ``options`` anything else that changes the built object.
        Concurrent first calls for one key build once (the others wait); different keys build in
        parallel. An exception from ``build`` propagates and nothing is stored, so the next call retries.
        """
        key = self.key(kind, weights, device, options)
        with self._lock:
            if key in self._items:
                return cast(T, self._items[key])
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._items:
                    return cast(T, self._items[key])
            value = build()
            with self._lock:
                self._items[key] = value
                self._building.pop(key, None)
            return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget every model (tests; a worker never needs to)."""
        with self._lock:
            self._items.clear()


#: The process's models.
models = ModelCache()
