"""Small previews of every preset on the user's own photo, for the style picker.

A style worker renders them (``gallery/runs/previews.py``) once per photo (160 px, the 26 presets in one batch through the
network) after the photo page first asks; the page shows the generic preset thumbnails until
then and swaps in the previews when they are ready. The files are private like the photo:
served only to its owner, and deleted with it.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.files.storage import default_storage

from gallery.capacity import STYLE_QUEUE
from gallery.models import Photo
from gallery.runs.previews import blend_cache_key, preview_name
from nstsite.jobs import enqueue_after_commit


def _last_preset() -> int:
    from ml.style.presets import PRESETS

    return PRESETS[-1].id


def previews_ready(photo: Photo) -> bool:
    """True once every preview is stored (the last preset's file is written last)."""
    return default_storage.exists(preview_name(photo, _last_preset()))


def photo_previews_ensure(*, photo: Photo) -> bool:
    """Have a style worker render the previews unless they exist or are on their way; True if ready."""
    if previews_ready(photo):
        return True
    if not cache.add(f"gallery:previews-pending:{photo.pk}", 1, timeout=600):
        return False  # asked for within the last ten minutes
    from gallery.jobs import photo_previews_run

    enqueue_after_commit(
        STYLE_QUEUE, photo_previews_run, photo.pk, job_id=f"previews-{photo.pk}",
        when_down=lambda: cache.delete(f"gallery:previews-pending:{photo.pk}"),  # asking again retries
    )  # fmt: skip
    return False


def preview_names(*, photo_pk: int) -> list[str]:
    """Storage names of every preview drawn for a photo (they go with it: gallery/apps.py)."""
    folder = f"previews/{photo_pk}"
    try:
        _, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return []
    return [f"{folder}/{name}" for name in files]


# --- a live preview of a blend, exact: the network itself at preview size ------------------------


def blend_preview_request(
    *, photo: Photo, weights: dict[int, float], strength: float, preserve_color: bool
) -> tuple[str, bool]:
    """``(key, ready)`` for a small preview of this blend; queues the job (ahead of renders) if needed.

    ``weights`` is ``{preset_id: weight}``. Raises ``ValueError`` for weights or a strength the
    engine would refuse.
    """
    import hashlib
    import json

    from ml.style import color
    from ml.style.presets import weight_vector

    weight_vector(weights)  # the engine's own checks: known ids, non-negative, not all zero
    color.check_strength(strength)
    canonical = json.dumps([sorted(weights.items()), round(strength, 3), preserve_color, photo.content_hash])
    key = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    if cache.get(blend_cache_key(photo, key)) is not None:
        return key, True
    if cache.add(blend_cache_key(photo, key) + ":pending", 1, timeout=120):
        from gallery.jobs import blend_preview_run

        enqueue_after_commit(
            STYLE_QUEUE, blend_preview_run, photo.pk, weights, strength, preserve_color, key,
            job_id=f"blend-preview-{photo.pk}-{key}", at_front=True, result_ttl=0,
            when_down=lambda: cache.delete(blend_cache_key(photo, key) + ":pending"),
        )  # fmt: skip
    return key, False


def blend_preview_bytes(*, photo: Photo, key: str) -> bytes | None:
    data = cache.get(blend_cache_key(photo, key))
    return data if isinstance(data, bytes) else None
