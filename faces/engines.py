"""The face models of this process, loaded once and kept warm (the worker calls :func:`warm_up`).

Only workers and management commands call these; a web request never runs a model.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from faces import conf

if TYPE_CHECKING:
    from ml.faces.detect import FaceDetector
    from ml.faces.embedders import Embedder

_lock = threading.Lock()
_detector: FaceDetector | None = None


def detector() -> FaceDetector:
    """The process's MTCNN detector (built on first use)."""
    global _detector
    with _lock:
        if _detector is None:
            from ml.faces.detect import FaceDetector

            _detector = FaceDetector(
                device=conf.device(), min_face_size=conf.min_face_size(), min_score=conf.min_score()
            )
        return _detector


def embedder(name: str | None = None) -> Embedder:
    """The embedder ``name`` (default ``FACES_EMBEDDER``); ``ml.faces.embedders`` caches one per process."""
    from ml.faces.embedders import get_embedder

    return get_embedder(name or conf.embedder_name(), device=conf.device())


def warm_up() -> None:
    """Load the detector and the configured embedder now, so the first job pays no load time."""
    detector()
    embedder()


def advertised(queues: list[str]) -> dict[str, list[str]]:
    """For this worker's capability record: the embedders whose weights are present here."""
    if "faces" not in queues:
        return {}
    from ml.faces.embedders import EMBEDDERS
    from ml.weights import DOWNLOADABLE, is_available

    return {
        "embedders": [
            n for n, spec in EMBEDDERS.items() if spec.weights not in DOWNLOADABLE or is_available(spec.weights)
        ]
    }
