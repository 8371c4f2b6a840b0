"""Job bodies: the style picker's previews of every preset on a photo, and a live preview of a blend."""

from __future__ import annotations

import torch
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from gallery import engines
from gallery.models import Photo
from nstsite import uploads

PREVIEW_SIDE = 160
BLEND_TTL = 3600


def preview_name(photo: Photo, preset_id: int) -> str:
    # The content hash in the name: a photo id reused after a database reset never shows old previews.
    return f"previews/{photo.pk}/{photo.content_hash[:12]}-{preset_id}.jpg"


def blend_cache_key(photo: Photo, key: str) -> str:
    return f"gallery:blend-preview:{photo.pk}:{key}"  # the photo in the key: served only with its owner's photo


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


def blend_preview_render(
    *, photo: Photo, weights: dict[int, float], strength: float, preserve_color: bool, key: str
) -> None:
    with photo.thumbnail.open("rb") as handle:
        small = Image.open(handle).convert("RGB")
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    image = engines.presets().stylize(small, weights, strength=strength, preserve_color=preserve_color)
    cache.set(blend_cache_key(photo, key), uploads.encode(image, "JPEG", quality=85).read(), timeout=BLEND_TTL)
