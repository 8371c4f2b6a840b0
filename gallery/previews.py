"""Small previews of every preset on the user's own photo, for the style picker.

A style worker renders them once per photo (160 px, the 26 presets in one batch through the
network) after the photo page first asks; the page shows the generic preset thumbnails until
then and swaps in the previews when they are ready. The files are private like the photo:
served only to its owner, and deleted with it.
"""

from __future__ import annotations

import logging

import django_rq
import torch
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image
from redis.exceptions import RedisError

from gallery import engines
from gallery.capacity import STYLE_QUEUE
from gallery.models import Photo
from nstsite import uploads

log = logging.getLogger(__name__)

PREVIEW_SIDE = 160


def preview_name(photo: Photo, preset_id: int) -> str:
    # The content hash in the name: a photo id reused after a database reset never shows old previews.
    return f"previews/{photo.pk}/{photo.content_hash[:12]}-{preset_id}.jpg"


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

    def _send() -> None:
        try:
            django_rq.get_queue(STYLE_QUEUE).enqueue(photo_previews_run, photo.pk, job_id=f"previews-{photo.pk}")
        except RedisError:
            cache.delete(f"gallery:previews-pending:{photo.pk}")
            log.warning("could not enqueue the style previews of photo %s", photo.pk)

    transaction.on_commit(_send)
    return False


def photo_previews_render(*, photo: Photo) -> int:
    """Render and store the previews of every preset on ``photo``; returns how many."""
    from ml.style.imaging import to_image, to_tensor
    from ml.style.presets import PRESETS, weight_vector

    stylizer = engines.presets()
    with photo.thumbnail.open("rb") as handle:
        small = Image.open(handle).convert("RGB")
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    batch = to_tensor(small, stylizer.device).expand(len(PRESETS), -1, -1, -1)  # (26, 3, H, W) in [0, 1]
    vectors = torch.stack([weight_vector({p.id: 1.0}) for p in PRESETS])  # (26, 26) one-hot
    out = stylizer.stylize_tensor(batch, vectors)
    for index, preset in enumerate(PRESETS):  # the last preset's file last: it marks "ready"
        name = preview_name(photo, preset.id)
        if default_storage.exists(name):
            default_storage.delete(name)
        default_storage.save(
            name, ContentFile(uploads.encode(to_image(out[index : index + 1]), "JPEG", quality=82).read())
        )
    cache.delete(f"gallery:previews-pending:{photo.pk}")
    return len(PRESETS)


def photo_previews_delete(*, photo_pk: int) -> None:
    folder = f"previews/{photo_pk}"
    try:
        _, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")


# --- a live preview of a blend, exact: the network itself at preview size ------------------------

BLEND_TTL = 3600


def _blend_cache_key(photo: Photo, key: str) -> str:
    return f"gallery:blend-preview:{photo.pk}:{key}"  # the photo in the key: served only with its owner's photo


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
    if cache.get(_blend_cache_key(photo, key)) is not None:
        return key, True
    if cache.add(_blend_cache_key(photo, key) + ":pending", 1, timeout=120):
        from gallery.jobs import blend_preview_run

        try:
            django_rq.get_queue(STYLE_QUEUE).enqueue(
                blend_preview_run, photo.pk, weights, strength, preserve_color, key,
                job_id=f"blend-preview-{photo.pk}-{key}", at_front=True, result_ttl=0,
            )  # fmt: skip
        except RedisError:
            cache.delete(_blend_cache_key(photo, key) + ":pending")
            log.warning("could not enqueue a blend preview of photo %s", photo.pk)
    return key, False


def blend_preview_render(
    *, photo: Photo, weights: dict[int, float], strength: float, preserve_color: bool, key: str
) -> None:
    with photo.thumbnail.open("rb") as handle:
        small = Image.open(handle).convert("RGB")
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    image = engines.presets().stylize(small, weights, strength=strength, preserve_color=preserve_color)
    cache.set(_blend_cache_key(photo, key), uploads.encode(image, "JPEG", quality=85).read(), timeout=BLEND_TTL)


def blend_preview_bytes(*, photo: Photo, key: str) -> bytes | None:
    data = cache.get(_blend_cache_key(photo, key))
    return data if isinstance(data, bytes) else None
