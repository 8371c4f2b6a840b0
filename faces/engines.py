"""The face models of this process, loaded once and kept warm (the worker calls :func:`warm_up`).

Only workers and management commands call these; a web request never runs a model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faces import conf

if TYPE_CHECKING:
    from ml.faces.detect import FaceDetector
    from ml.faces.embedders import Embedder


def detector() -> FaceDetector:
    """The process's MTCNN detector on ``FACES_DEVICE`` with the configured size/score cut-offs
    (built on first use, kept in :data:`ml.cache.models`)."""
    from ml.cache import models
    from ml.faces.detect import MTCNN_WEIGHTS, FaceDetector

    device, size, score = conf.device(), conf.min_face_size(), conf.min_score()
    return models.get(
        "face-detector",
        MTCNN_WEIGHTS,
        device,
        lambda: FaceDetector(device=device, min_face_size=size, min_score=score),
        options=(size, score),
    )


def embedder(name: str | None = None) -> Embedder:
    """The embedder ``name`` (default ``FACES_EMBEDDER``) on ``FACES_DEVICE``, kept in :data:`ml.cache.models`."""
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
