"""Gallery workflows: photos in, styles, renders out. Views and jobs call these; nothing else writes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gallery import options
from gallery.capacity import STYLE_QUEUE
from gallery.models import Photo, Render, RenderMethod, RenderStyle, Style, StyleKind, StyleLab
from ml.style.estimate import Estimate, estimate
from ml.style.gatys_params import GatysParams
from nstsite import jobs
from nstsite.jobs import enqueue_after_commit
from nstsite.models import TaskStatus
from nstsite.uploads import DECODE_SLOTS, UploadError, encode, read_upload, thumbnail

# --- photos ----------------------------------------------------------------------------------


def photo_create(*, owner: Any, upload: UploadedFile) -> tuple[Photo, bool]:
    """Store one validated upload; returns ``(photo, created)``.

    A file this user already uploaded is recognised by its hash and the existing photo comes back
    with ``created=False``. Raises :class:`~nstsite.UploadError` with a user-facing message.
    """
    return photos_create(owner=owner, uploads=[upload])[0]


def photos_create(*, owner: Any, uploads: Sequence[UploadedFile]) -> list[tuple[Photo, bool]]:
    """All-or-nothing: if any file is refused, none is kept.

    Files are checked and stored one at a time, each under :data:`~nstsite.DECODE_SLOTS`, so a
    request's memory is one decoded image (not all of them) and the whole web process decodes at
    most ``UPLOAD_DECODE_CONCURRENCY`` images at once, however many requests arrive.
    A later refusal deletes the files already stored by this request.
    """
    if not uploads:
        raise UploadError("Choose at least one photo to upload.")
    if len(uploads) > settings.UPLOAD_MAX_FILES:
        raise UploadError(f"Upload at most {settings.UPLOAD_MAX_FILES} photos at a time.")
    results: list[tuple[Photo, bool]] = []
    stored: list[Photo] = []
    try:
        with transaction.atomic():
            for upload in uploads:
                with DECODE_SLOTS:
                    clean = read_upload(upload)
                    existing = owner.photos.filter(content_hash=clean.sha256).first()
                    if existing is not None:
                        results.append((existing, False))
                        continue
                    photo = Photo(
                        owner=owner,
                        original_name=(upload.name or "")[:255],
                        content_hash=clean.sha256,
                        taken_at=clean.taken_at,
                    )
                    encoded = encode(clean.image, clean.format)
                    photo.image.save(str(encoded.name), encoded, save=False)  # the name carries the suffix
                    stored.append(photo)
                    del encoded
                    photo.thumbnail.save("t.jpg", thumbnail(clean.image), save=False)
                    notice = clean.notice
                    del clean  # free the decoded pixels before the next file
                photo.save()
                photo.upload_notice = notice
                results.append((photo, True))
                from faces.hooks import photo_uploaded

                photo_uploaded(photo=photo)
    except IntegrityError:
        # The same file arrived twice at once (two tabs): keep nothing from this request.
        _erase_unsaved(stored)
        raise UploadError("This photo is being uploaded already; refresh the gallery.") from None
    except BaseException:
        _erase_unsaved(stored)
        raise
    return results


def photo_delete(*, photo: Photo) -> None:
    """Delete a photo, its renders, style labs and faces; their files go after the commit (gallery/apps.py)."""
    from faces.hooks import photo_deleting

    with transaction.atomic():
        photo_deleting(photo=photo)
        photo.delete()


def _erase_unsaved(photos: Iterable[Photo]) -> None:
    """The files of photos whose rows were never saved (no row, so no delete to take them along)."""
    for photo in photos:
        for field in (photo.image, photo.thumbnail):
            if field.name:
                field.storage.delete(field.name)


def user_photos(user: Any) -> QuerySet[Photo]:
    return Photo.objects.filter(owner=user)


# --- styles ----------------------------------------------------------------------------------


def visible_styles(user: Any) -> QuerySet[Style]:
    return Style.objects.filter(Q(owner__isnull=True) | Q(owner=user))


def style_create(*, owner: Any, upload: UploadedFile, name: str = "") -> Style:
    """A painting (any image) to use as a style; stored clean like photos."""
    clean = read_upload(upload)
    style = Style(kind=StyleKind.IMAGE, owner=owner, name=(name or upload.name or "My style")[:120])
    encoded = encode(clean.image, clean.format)
    style.image.save(str(encoded.name), encoded, save=False)
    try:
        style.thumbnail.save("t.jpg", thumbnail(clean.image, 256), save=False)
        style.save()
    except BaseException:
        for field in (style.image, style.thumbnail):
            if field.name:
                field.storage.delete(field.name)
        raise
    return style


def style_delete(*, style: Style) -> None:
    style.delete()  # its files go after the commit (gallery/apps.py)


def presets_sync() -> None:
    """Create the global style rows of the engine's presets (idempotent)."""
    from ml.style.presets import PRESETS

    for preset in PRESETS:
        Style.objects.get_or_create(preset_id=preset.id, defaults={"kind": StyleKind.PRESET, "name": preset.name})


def presets_ensure_thumbnails() -> None:
    """Create the preset styles and have a worker draw any missing thumbnails (once)."""
    presets_sync()
    if Style.objects.filter(kind=StyleKind.PRESET, thumbnail="").exists():
        from gallery.jobs import presets_render_thumbnails

        # Redis down: they are drawn on the next start.
        enqueue_after_commit(STYLE_QUEUE, presets_render_thumbnails, job_id="preset-thumbnails")


# --- renders ---------------------------------------------------------------------------------


def render_create(
    *,
    owner: Any,
    photo: Photo,
    method: str,
    blend: Sequence[tuple[Style, float]],
    params: dict[str, Any] | None = None,
) -> Render:
    """Validate and queue a render. ``blend`` is ``[(style, weight), ...]`` of styles ``owner`` may use.

    Raises ``ValidationError`` (with field names) for anything a user could fix.
    """
    if photo.owner_id != owner.pk:
        raise ValidationError({"photo": "Unknown photo."})
    if method not in RenderMethod.values:
        raise ValidationError({"method": f"Choose one of: {', '.join(RenderMethod.values)}."})
    _check_blend(owner, method, blend)
    clean = options.parse(method, params or {})
    render = Render(owner=owner, photo=photo, method=method, params=clean)
    if method == RenderMethod.GATYS:
        _check_gatys_network(clean["network"])
        _fit_gatys(render, photo)
    with transaction.atomic():
        render.save()
        RenderStyle.objects.bulk_create(RenderStyle(render=render, style=s, weight=w) for s, w in blend)
        _enqueue(render)
    return render


def _check_blend(owner: Any, method: str, blend: Sequence[tuple[Style, float]]) -> None:
    if not blend:
        raise ValidationError({"styles": "Choose at least one style."})
    if len(blend) > options.MAX_BLEND:
        raise ValidationError({"styles": f"A blend takes at most {options.MAX_BLEND} styles."})
    if len({s.pk for s, _ in blend}) != len(blend):
        raise ValidationError({"styles": "Each style may appear once in a blend; give it a larger weight instead."})
    visible = set(visible_styles(owner).filter(pk__in=[s.pk for s, _ in blend]).values_list("pk", flat=True))
    if any(s.pk not in visible for s, _ in blend):
        raise ValidationError({"styles": "Unknown style."})
    if any(not math.isfinite(w) or not 0 <= w <= 1000 for _, w in blend) or sum(w for _, w in blend) <= 0:
        raise ValidationError({"styles": "Blend weights must be numbers from 0 to 1000, at least one above zero."})
    kinds = {s.kind for s, _ in blend}
    wanted = {
        RenderMethod.PRESET: ({StyleKind.PRESET}, None, "Presets blend only with presets."),
        RenderMethod.ARBITRARY: ({StyleKind.IMAGE}, 1, "Any-painting style takes exactly one style image."),
        RenderMethod.GATYS: ({StyleKind.IMAGE}, None, "Gatys takes one or more style images."),
        RenderMethod.FAST: ({StyleKind.FAST}, 1, "Choose one trained fast model."),
    }[RenderMethod(method)]
    allowed, count, message = wanted
    if not kinds <= allowed or (count is not None and len(blend) != count):
        raise ValidationError({"styles": message})


def _check_gatys_network(network: str) -> None:
    """Refuse a loss network that no live worker can run: decided by the workers' records, never this host's disk."""
    from gallery.capacity import gatys_status

    status = gatys_status(network)
    if not status.ok:
        raise ValidationError({"network": status.message})  # no server path: this reaches ordinary users


@dataclasses.dataclass(frozen=True)
class GatysPlan:
    """What a Gatys render will really do on the style worker: its options, cost and device."""

    params: GatysParams
    cost: Estimate
    device: str
    notice: str = ""
    basis: str = ""  # where the throughput figure comes from, in words


def gatys_plan(*, photo: Photo, params: dict[str, Any]) -> GatysPlan:
    """Estimate on the fastest live worker able to run it; downscale until it fits ``STYLE_GATYS_MAX_SECONDS``, or refuse.

    Decided by the live workers' own records (their weights, device and measured speed), never by
    this web host's disk or CPU. The throughput is what the worker measured for this loss network:
    from its recent renders when there are any, else from a short run when it started.
    """
    from gallery.capacity import gatys_status

    requested = plan = options.gatys_params(params)
    worker = gatys_status(plan.network)
    if not worker.ok:
        raise ValidationError({"method": worker.message})
    if worker.source == "render":
        basis = f"measured on this server's last {worker.runs} render{'s' if worker.runs != 1 else ''}"
    elif worker.source == "probe":
        basis = "measured by short test runs on the worker"
    else:
        basis = "a rough guess until the worker has measured itself"
    size = (photo.width, photo.height)
    cost = estimate(plan, size, worker.device_type, flops=worker.flops)
    while cost.seconds > settings.STYLE_GATYS_MAX_SECONDS and plan.size > 128:
        plan = dataclasses.replace(plan, size=max(128, int(plan.size * 0.75)))
        cost = estimate(plan, size, worker.device_type, flops=worker.flops)
    if cost.seconds > settings.STYLE_GATYS_MAX_SECONDS:
        raise ValidationError(
            {"params": "This would take too long on this server even at 128 px; use fewer iterations."}
        )
    notice = f"Reduced to {plan.size} px so it finishes within the time limit." if plan.size < requested.size else ""
    return GatysPlan(params=plan, cost=cost, device=worker.device, notice=notice, basis=basis)


def _fit_gatys(render: Render, photo: Photo) -> None:
    plan = gatys_plan(photo=photo, params=render.params)
    if plan.notice:
        render.notice = plan.notice
        render.params = {**render.params, "size": plan.params.size}
    render.estimated_seconds = plan.cost.seconds
    render.seed = plan.params.seed


def _enqueue(render: Render) -> None:
    from gallery.jobs import RENDERS

    RENDERS.send(render.pk)


def render_cancel(*, render: Render) -> bool:
    """Stop a queued or running render; a running one stops before its next iteration."""
    return Render.cancel(render.pk)


def render_retry(*, render: Render) -> Render:
    """Run a failed or cancelled render again, with the same settings (or a queued one whose job was lost)."""
    if render.status == TaskStatus.QUEUED:
        jobs.ensure_enqueued(Render, render.pk)  # nothing happens if its job is still waiting
        render.refresh_from_db()
        return render
    if render.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        raise ValidationError("Only failed or cancelled renders can be retried.")
    with transaction.atomic():
        updated = Render.objects.filter(pk=render.pk, status=render.status).update(
            status=TaskStatus.QUEUED,
            error="",
            progress=0.0,
            iteration=0,
            started_at=None,
            finished_at=None,
            queued_at=timezone.now(),  # the reconciler's grace period starts now
        )
        if updated:
            _enqueue(render)
    render.refresh_from_db()
    return render


def render_rerun(
    *, render: Render, params: dict[str, Any], blend: Sequence[tuple[Style, float]] | None = None
) -> Render:
    """A new render of the same photo and method with changed settings (and blend, when given).

    Settings the request does not name carry over (the loss network and layers of a Gatys render included).
    """
    if blend is None:
        blend = [(rs.style, rs.weight) for rs in render.blend.select_related("style") if rs.style]
    kept = {k: v for k, v in render.params.items() if k != "run_seconds"}
    return render_create(
        owner=render.owner, photo=render.photo, method=render.method, blend=blend, params={**kept, **params}
    )


def render_delete(*, render: Render) -> None:
    Render.cancel(render.pk)
    render.delete()  # its files go after the commit (gallery/apps.py)


# --- style lab -------------------------------------------------------------------------------


def style_lab_create(
    *, owner: Any, photo: Photo, style: Style, network: str = "", cell_size: int | None = None,
    iterations: int | None = None,
) -> StyleLab:  # fmt: skip
    """Queue a grid of small Gatys renders of ``photo`` in ``style`` across α/β and style depth."""
    from ml.style.gatys_params import DEFAULT_NETWORK, NETWORKS
    from ml.style.lab import lab_cells

    if photo.owner_id != owner.pk:
        raise ValidationError({"photo": "Unknown photo."})
    _check_blend(owner, RenderMethod.GATYS, [(style, 1.0)])
    network = network or DEFAULT_NETWORK
    if network not in NETWORKS:
        raise ValidationError({"network": f"Choose one of: {', '.join(NETWORKS)}."})
    _check_gatys_network(network)
    cells = [
        {"row": c.row, "column": c.column, "depth": c.depth, "ratio": c.ratio, "style_layers": list(c.style_layers),
         "image": ""}
        for c in lab_cells(network)
    ]  # fmt: skip
    lab = StyleLab(
        owner=owner,
        photo=photo,
        style=style,
        network=network,
        cell_size=cell_size or settings.STYLE_LAB_CELL_SIZE,
        iterations=iterations or settings.STYLE_LAB_ITERATIONS,
        cells=cells,
    )
    with transaction.atomic():
        lab.save()
        from gallery.jobs import STYLE_LABS

        STYLE_LABS.send(lab.pk)
    return lab


def style_lab_pick(*, lab: StyleLab, index: int, quality: str = "standard") -> Render:
    """A full-size Gatys render with one cell's settings (its α/β and style layers)."""
    if not 0 <= index < len(lab.cells):
        raise ValidationError({"cell": "Unknown cell."})
    if lab.style is None:
        raise ValidationError({"styles": "The painting of this lab was deleted."})
    cell = lab.cells[index]
    params = {
        "quality": quality,
        "network": lab.network,
        "content_weight": 1.0,
        "style_weight": 1.0 / float(cell["ratio"]),
        "style_layers": list(cell["style_layers"]),
    }
    return render_create(owner=lab.owner, photo=lab.photo, method=RenderMethod.GATYS, blend=[(lab.style, 1.0)],
                         params=params)  # fmt: skip


def style_lab_delete(*, lab: StyleLab) -> None:
    StyleLab.cancel(lab.pk)
    lab.delete()  # its files go after the commit (gallery/apps.py)
