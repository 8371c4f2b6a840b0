"""Running a render inside a worker: load the row, call the engine, store the result."""

from __future__ import annotations

import io
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image

from gallery import capacity, engines, options
from gallery.models import Render, RenderMethod, Style, StyleKind
from nstsite import uploads
from nstsite.files import open_stored_image

PROGRESS_WRITE_EVERY = 0.5  # seconds between progress writes: the page polls, the database need not hear every step


def render_execute(render_id: int) -> None:
    """Run a claimed (running) render and save the result (the job, nstsite.jobs.run_task, claims it)."""
    render = Render.objects.select_related("photo").get(pk=render_id)
    content = open_stored_image(render.photo.image)
    blend = [(rs.style, rs.weight) for rs in render.blend.select_related("style") if rs.style]
    started = time.perf_counter()
    result = _run(render, content, blend)
    if result is None:  # cancelled
        return
    render.result.save("r.jpg", uploads.encode(result, "JPEG", quality=95), save=False)
    updated = Render.succeed(
        render_id,
        result=render.result.name,
        width=result.width,
        height=result.height,
        device=engines.device_label() + (" · random VGG weights" if _random_vgg(render) else ""),
        params={**render.params, "run_seconds": round(time.perf_counter() - started, 3)},
    )
    if not updated and render.result.name:  # cancelled at the last moment: keep nothing (name is set by save)
        render.result.storage.delete(render.result.name)


def _random_vgg(render: Render) -> bool:
    return (
        render.method == RenderMethod.GATYS
        and render.params.get("network", "vgg19") == "vgg19"
        and settings.STYLE_GATYS_RANDOM_WEIGHTS
    )


def _open_style(style: Style) -> Image.Image:
    return open_stored_image(style.image)


def _run(render: Render, content: Image.Image, blend: list[tuple[Style, float]]) -> Image.Image | None:
    params = render.params
    common: dict[str, Any] = {
        "strength": params.get("strength", 1.0),
        "preserve_color": params.get("preserve_color", False),
    }
    max_side = min(params.get("max_side") or settings.STYLE_MAX_SIDE, settings.STYLE_MAX_SIDE)
    if render.method == RenderMethod.PRESET:
        weights = {s.preset_id: w for s, w in blend if s.kind == StyleKind.PRESET and s.preset_id is not None}
        return engines.presets().stylize(content, weights, max_side=max_side, **common)
    if render.method == RenderMethod.ARBITRARY:
        return engines.arbitrary().stylize(content, _open_style(blend[0][0]), max_side=max_side, **common)
    if render.method == RenderMethod.FAST:
        return engines.fast_model(blend[0][0].checkpoint.name).stylize(content, max_side=max_side, **common)
    return _run_gatys(render, content, blend)


def _run_gatys(render: Render, content: Image.Image, blend: list[tuple[Style, float]]) -> Image.Image | None:
    from ml.style.estimate import throughput_from_run
    from ml.style.gatys import Cancelled, Progress, run_gatys

    params = options.gatys_params(render.params)
    last: list[Progress] = []
    last_write = 0.0
    last_check = 0.0
    cancelled = False

    def on_progress(p: Progress) -> None:
        nonlocal last_write
        last[:] = [p]
        now = time.monotonic()
        if p.preview is None and now - last_write < PROGRESS_WRITE_EVERY:
            return
        last_write = now
        fields: dict[str, Any] = {"progress": min(p.iteration / max(p.total, 1), 0.99), "iteration": p.iteration}
        if p.preview is not None:
            fields["preview"] = _save_preview(render, p.preview)
        Render.beat(render.pk, **fields)

    def should_stop() -> bool:
        nonlocal last_check, cancelled
        now = time.monotonic()
        if now - last_check >= PROGRESS_WRITE_EVERY / 2:
            last_check = now
            cancelled = Render.is_cancelled(render.pk)
        return cancelled

    styles = [(_open_style(s), w) for s, w in blend]
    try:
        image = run_gatys(
            content,
            styles,
            params,
            net=engines.gatys_network(params.network, params.pooling),
            device=engines.device(),
            on_progress=on_progress,
            should_stop=should_stop,
            preview_every=max(10, params.iterations // 20),
        )
    except Cancelled:
        return None
    if last and last[-1].elapsed > 0:
        # What this render really cost is the next estimate's throughput for this network.
        flops = throughput_from_run(params, content.size, iterations_done=last[-1].iteration, seconds=last[-1].elapsed)
        capacity.record_throughput(params.network, flops, source="render")
    return image


def _save_preview(render: Render, preview: Image.Image) -> str:
    # Only the latest preview is kept: each one replaces the file of the one before.
    old = Render.objects.filter(pk=render.pk).values_list("preview", flat=True).first()
    buffer = io.BytesIO()
    preview.convert("RGB").save(buffer, "JPEG", quality=85)
    name = render.preview.storage.save(
        render.preview.field.generate_filename(render, "p.jpg"), ContentFile(buffer.getvalue())
    )
    if old:
        render.preview.storage.delete(old)
    return name
