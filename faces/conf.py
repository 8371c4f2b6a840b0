"""The faces app's settings, read with their defaults in one place.

Every value can be set in ``config/settings.py`` (from the environment); the defaults here are
the documented ones, so the app works before the settings file names them.
"""

from __future__ import annotations

from django.conf import settings


def embedder_name() -> str:
    """The embedder new faces are embedded with and identification compares against."""
    from ml.faces.embedders import DEFAULT_EMBEDDER, EMBEDDERS  # imports torch: only when needed

    name = settings.FACES_EMBEDDER or DEFAULT_EMBEDDER
    if name not in EMBEDDERS:
        raise ValueError(f"FACES_EMBEDDER={name!r} is not one of {', '.join(EMBEDDERS)}")
    return name


def embedder_dim(name: str) -> int:
    from ml.faces.embedders import EMBEDDERS

    return EMBEDDERS[name].dim


def embedder_default_threshold(name: str) -> float:
    from ml.faces.embedders import EMBEDDERS

    return EMBEDDERS[name].default_threshold


def device() -> str:
    """``FACES_DEVICE``: ``cpu``, ``cuda``, ``cuda:1``… or ``auto`` (:func:`ml.device.pick_device` chooses)."""
    return str(settings.FACES_DEVICE or "auto")


def target_far() -> float:
    return float(settings.FACES_TARGET_FAR)


def knn() -> int:
    """How many nearest reference faces vote on a face's identity."""
    return int(settings.FACES_KNN)


def ef_search() -> int:
    """``hnsw.ef_search`` for identification (pgvector's default is 40); see docs/benchmarks.md."""
    return int(settings.FACES_EF_SEARCH)


def min_face_size() -> int:
    return int(settings.FACES_MIN_FACE_SIZE)


def min_score() -> float:
    return float(settings.FACES_MIN_SCORE)


def scan_batch() -> int:
    """How many queued scans one job claims and runs together (at least 1); see docs/benchmarks.md."""
    return max(1, int(getattr(settings, "FACES_SCAN_BATCH", 8)))


def cluster_min_faces() -> int:
    return int(settings.FACES_CLUSTER_MIN_FACES)


def cluster_eps() -> float | None:
    """DBSCAN radius (cosine distance); None means "the identification threshold"."""
    value = settings.FACES_CLUSTER_EPS
    return float(value) if value not in (None, "") else None


def detect_on_upload() -> bool:
    return bool(settings.FACES_DETECT_ON_UPLOAD)


def keep_upload_embeddings() -> bool:
    """Keep embeddings of one-off identification uploads after their job (default: no, they are
    biometric data of people who were not enrolled and serve no later purpose)."""
    return bool(settings.FACES_KEEP_UPLOAD_EMBEDDINGS)


def suggest_factor() -> float:
    """Faces within threshold × this factor of someone (but not within the threshold) are offered
    to their owner as "maybe <name>?" instead of a name; 1.0 turns suggestions off."""
    return float(settings.FACES_SUGGEST_FACTOR)
