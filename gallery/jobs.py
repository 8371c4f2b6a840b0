"""Style jobs: thin, take ids, call the services. Renders are routed by method (gallery/capacity.py):
presets and any-painting to ``style``, Gatys to ``style-slow`` or ``gatys-<network>``; labs to ``style-slow``."""

from __future__ import annotations

from typing import cast

from gallery.capacity import SLOW_STYLE_QUEUE, STYLE_QUEUE, render_queue
from gallery.models import Render, StyleLab
from nstsite.jobs import TaskKind, register, run_task


def render_run(render_id: int) -> None:
    from gallery.runs.renders import render_execute

    run_task(Render, render_id, render_execute)


def style_lab_run(lab_id: int) -> None:
    from gallery.runs.labs import style_lab_execute

    run_task(StyleLab, lab_id, style_lab_execute)


def presets_render_thumbnails() -> int:
    """Draw the thumbnail of every preset style that has none; returns how many were drawn."""
    from gallery import engines
    from gallery.models import Style, StyleKind
    from ml.style.presets import render_thumbnail
    from nstsite import uploads

    drawn = 0
    for style in Style.objects.filter(kind=StyleKind.PRESET, thumbnail=""):
        # A PRESET style always carries its engine's preset id (seeded together in presets_sync).
        image = render_thumbnail(engines.presets(), cast(int, style.preset_id), size=256)
        style.thumbnail.save("t.jpg", uploads.encode(image, "JPEG", quality=88), save=True)
        drawn += 1
    return drawn


def landing_examples_run() -> int:
    """Render the landing page's before/after examples; returns how many."""
    from django.conf import settings

    from gallery.runs.landing import landing_examples_render, source_dir

    folder = source_dir()
    if folder is None:
        return 0
    return len(landing_examples_render(folder=folder, max_side=settings.LANDING_EXAMPLES_MAX_SIDE))


def photo_previews_run(photo_id: int) -> int:
    """Render the style picker's previews of every preset on one photo (gone photo: nothing)."""
    from gallery.models import Photo
    from gallery.runs.previews import photo_previews_render

    photo = Photo.objects.filter(pk=photo_id).first()
    return photo_previews_render(photo=photo) if photo else 0


def blend_preview_run(
    photo_id: int, weights: dict[int, float], strength: float, preserve_color: bool, key: str
) -> None:
    """A small preview of a preset blend on one photo, kept in the cache for the picker to show."""
    from gallery.models import Photo
    from gallery.runs.previews import blend_preview_render

    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is not None:
        # Job arguments travel as JSON-like data: preset ids may arrive as strings.
        clean = {int(k): float(v) for k, v in weights.items()}
        blend_preview_render(photo=photo, weights=clean, strength=strength, preserve_color=preserve_color, key=key)


def render_queue_of(render_id: int) -> str:
    """The queue of render ``render_id`` (``gatys-vgg19`` for Gatys on VGG19; see gallery/capacity.py)."""
    render = Render.objects.only("method", "params").filter(pk=render_id).first()
    return render_queue(render) if render is not None else STYLE_QUEUE


# The reconciler restarts a queued render whose job the queue lost (nstsite.jobs.reconcile), on its own queue.
RENDERS = register(
    TaskKind(Render, STYLE_QUEUE, render_run, timeout_setting="JOB_TIMEOUT_STYLE", route=render_queue_of)
)
STYLE_LABS = register(TaskKind(StyleLab, SLOW_STYLE_QUEUE, style_lab_run, timeout_setting="JOB_TIMEOUT_STYLE"))
