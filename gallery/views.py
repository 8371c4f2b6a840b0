"""Server-rendered pages. Each view validates, calls one service and renders; all lookups are per user."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from gallery import capacity, options, previews, services
from gallery.forms import StyleUploadForm, UploadForm
from gallery.models import Render, RenderMethod, Style, StyleKind, StyleLab
from gallery.progress import renders_progress, status_text
from nstsite.auth import AuthenticatedHttpRequest
from nstsite.inputs import id_list, optional_id, parse_id
from nstsite.jobs import stale_after
from nstsite.models import ACTIVE
from nstsite.redirects import redirect_back
from nstsite.uploads import UploadError


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        from gallery.landing import examples

        return render(request, "landing.html", {"examples": examples()})
    from faces.hooks import people_in_photos, photos_with_people

    queryset = services.user_photos(request.user)
    # ?person=3&person=8: photos where all of these people are named (faces app, per user).
    chosen = id_list(request.GET, "person")
    if chosen:
        queryset = photos_with_people(user=request.user, photos=queryset, person_ids=chosen)
    photos = Paginator(queryset.prefetch_related("renders"), 24).get_page(request.GET.get("page"))
    renders = Render.objects.filter(owner=request.user).select_related("photo")[:12]
    people = people_in_photos(user=request.user)
    query = "".join(f"&person={p}" for p in chosen)
    return render(
        request,
        "gallery/home.html",
        {"photos": photos, "renders": renders, "people": people, "chosen": chosen, "people_query": query},
    )


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            results = services.photos_create(owner=request.user, uploads=request.FILES.getlist("images"))
        except UploadError as exc:
            form.add_error("images", str(exc))
        else:
            new = sum(1 for _, created in results if created)
            dupes = len(results) - new
            messages.success(request, f"Uploaded {new} photo{'s' if new != 1 else ''}.")
            if dupes:
                messages.info(request, f"{dupes} {'were' if dupes > 1 else 'was'} already in your gallery.")
            for photo, _ in results:
                if photo.upload_notice:
                    messages.warning(request, photo.upload_notice)
            return redirect("home")
    limits = {"max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024), "max_files": settings.UPLOAD_MAX_FILES}
    return render(request, "gallery/upload.html", {"form": form, **limits})


@login_required
def photo_detail(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    previews_ready = previews.photo_previews_ensure(photo=photo)  # queues a job at most; never renders here
    styles = services.visible_styles(request.user)
    networks = capacity.gatys_networks(staff=request.user.is_staff)
    return render(
        request,
        "gallery/photo.html",
        {
            "photo": photo,
            "renders": photo.renders.prefetch_related("blend__style"),
            "presets": styles.filter(kind=StyleKind.PRESET),
            "paintings": styles.filter(kind=StyleKind.IMAGE),
            "fast_models": styles.filter(kind=StyleKind.FAST),
            "qualities": options.QUALITIES,
            "gatys_ok": any(n["ok"] for n in networks),
            "gatys_networks": networks,
            "style_form": StyleUploadForm(),
            "previews_ready": previews_ready,
        },
    )


@login_required
def photo_previews(request: HttpRequest, pk: int) -> JsonResponse:
    """Whether the style picker's previews of this photo are ready (the page polls this)."""
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    return JsonResponse({"ready": previews.previews_ready(photo)})


@login_required
@require_POST
def blend_preview(request: HttpRequest, pk: int) -> JsonResponse:
    """Ask for a small preview of the stylize form's preset blend; poll the URL it answers."""
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    try:
        blend = _blend_from_post(request, RenderMethod.PRESET)
        weights = {s.preset_id: w for s, w in blend if s.kind == StyleKind.PRESET and s.preset_id is not None}
        strength = float(cast(str, request.POST.get("strength") or 1))
        key, ready = previews.blend_preview_request(
            photo=photo, weights=weights, strength=strength, preserve_color=bool(request.POST.get("preserve_color"))
        )
    except (ValueError, ValidationError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    url = reverse("gallery:photo-blend-preview-image", args=[photo.pk, key])
    return JsonResponse({"ready": ready, "url": url})


@login_required
def blend_preview_image(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    data = previews.blend_preview_bytes(photo=photo, key=key)
    if data is None:
        return HttpResponse(status=204)  # not drawn yet: the page asks again
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    services.photo_delete(photo=photo)
    messages.success(request, "Photo deleted, with its renders and faces.")
    return redirect("home")


def _blend_from_post(request: HttpRequest, method: str) -> list[tuple[Style, float]]:
    """Styles and weights from the stylize form: ``weight_<style id>`` fields (0 = unused)."""
    visible = {s.pk: s for s in services.visible_styles(request.user)}
    if method in (RenderMethod.ARBITRARY, RenderMethod.FAST):
        chosen = optional_id(request.POST, "style")
        return [(visible[chosen], 1.0)] if chosen in visible else []
    blend = []
    for key, value in request.POST.items():
        if key.startswith("weight_") and parse_id(key[7:], key) in visible:
            try:
                # A request's QueryDict never holds an empty value list, so items() yields strings
                # (the stubs add "list[object]" for MultiValueDict in general).
                weight = float(cast(str, value) or 0)
            except ValueError:
                raise ValidationError({"styles": "Blend weights must be numbers."}) from None
            if weight != 0:
                blend.append((visible[int(key[7:])], weight))
    return blend


@login_required
@require_POST
def render_create(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    method = request.POST.get("method", "")
    try:
        blend = _blend_from_post(request, method)
        result = services.render_create(
            owner=request.user, photo=photo, method=method, blend=blend, params=_params(request)
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(photo)
    return redirect(result)  # the render page shows its notice (e.g. the size was reduced), once


def _params(request: HttpRequest) -> dict[str, Any]:
    skip = {"csrfmiddlewaretoken", "method", "style"}
    return {k: v for k, v in request.POST.items() if k not in skip and not k.startswith("weight_") and v != ""}


@login_required
def render_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    Render.reap_stale(after=stale_after())
    item = get_object_or_404(Render.objects.filter(owner=request.user).select_related("photo"), pk=pk)
    blend = [rs for rs in item.blend.select_related("style") if rs.style]
    total = sum(rs.weight for rs in blend) or 1.0
    context = {
        "render": item,
        "status_text": status_text(item, renders_progress(renders=[item]).get(item.pk)),
        "qualities": options.QUALITIES,
        "blend": [{"style": rs.style, "weight": rs.weight, "share": round(100 * rs.weight / total)} for rs in blend],
        "choices": [
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "options": [(c, item.params.get(name) == c) for c in allowed],
            }
            for name, allowed in options.GATYS_CHOICES.items()
        ],
        "sizes": [(side, item.params.get("max_side") == side) for side in (1024, 512, 2048)],
        # The original's options as form values (floats as typed: 1e6, not 1000000.0).
        "values": {
            key: ",".join(value)
            if isinstance(value, list)
            else format(value, "g")
            if isinstance(value, float)
            else value
            for key, value in item.params.items()
        },
    }
    return render(request, "gallery/render.html", context)


@login_required
def renders_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """All my renders: what is running or waiting (place in line, time left), and each photo's
    variants side by side with the original."""
    Render.reap_stale(after=stale_after())
    mine = Render.objects.filter(owner=request.user)
    active = list(mine.filter(status__in=ACTIVE).select_related("photo").prefetch_related("blend__style"))
    photos = services.user_photos(request.user).filter(renders__isnull=False).distinct()
    chosen = optional_id(request.GET, "photo")
    if chosen is not None:
        photos = photos.filter(pk=chosen)
    page = Paginator(photos, 6).get_page(request.GET.get("page"))
    renders = mine.filter(photo__in=list(page)).prefetch_related("blend__style")
    groups = [(photo, [r for r in renders if r.photo_id == photo.pk]) for photo in page]
    progress = renders_progress(renders=active)
    rows = [(r, status_text(r, progress.get(r.pk))) for r in active]
    return render(request, "gallery/renders.html", {"active": rows, "groups": groups, "page": page})


@login_required
@require_POST
def render_action(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("cancel", "retry", "rerun", "delete"):
        raise Http404("Unknown action.")
    item = get_object_or_404(Render.objects.filter(owner=request.user), pk=pk)
    try:
        if action == "cancel":
            services.render_cancel(render=item)
            messages.info(request, "Cancelled.")
        elif action == "retry":
            services.render_retry(render=item)
            messages.info(request, "Queued again.")
        elif action == "rerun":
            # The re-run form carries the original blend's weights; other methods keep their style.
            changes = any(key.startswith("weight_") for key in request.POST)
            blend = _blend_from_post(request, item.method) if changes else None
            item = services.render_rerun(render=item, params=_params(request), blend=blend)
            messages.success(request, "Started a new render with your changes.")
        elif action == "delete":
            photo = item.photo
            services.render_delete(render=item)
            messages.success(request, "Render deleted.")
            return redirect(photo)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(item)


@login_required
def styles_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = StyleUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            style = services.style_create(
                owner=request.user, upload=form.cleaned_data["image"], name=form.cleaned_data["name"]
            )
        except UploadError as exc:
            form.add_error("image", str(exc))
        else:
            messages.success(request, f"Added the style “{style.name}”.")
            return redirect_back(request, "gallery:styles")
    own = Style.objects.filter(owner=request.user)
    presets = Style.objects.filter(kind=StyleKind.PRESET)
    return render(request, "gallery/styles.html", {"form": form, "own": own, "presets": presets})


@login_required
@require_POST
def style_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    style = get_object_or_404(Style.objects.filter(owner=request.user), pk=pk)
    services.style_delete(style=style)
    messages.success(request, "Style deleted. Renders made with it are kept.")
    return redirect("gallery:styles")


@login_required
@require_POST
def lab_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(services.user_photos(request.user), pk=pk)
    style = services.visible_styles(request.user).filter(pk=optional_id(request.POST, "style") or 0).first()
    try:
        if style is None:
            raise ValidationError({"styles": "Choose a painting for the style lab."})
        lab = services.style_lab_create(
            owner=request.user, photo=photo, style=style, network=request.POST.get("network", "")
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(photo)
    return redirect(lab)


@login_required
def lab_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    StyleLab.reap_stale(after=stale_after())
    lab = get_object_or_404(StyleLab.objects.filter(owner=request.user).select_related("photo", "style"), pk=pk)
    return render(request, "gallery/lab.html", {"lab": lab, "qualities": options.QUALITIES})


@login_required
@require_POST
def lab_action(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    lab = get_object_or_404(StyleLab.objects.filter(owner=request.user).select_related("photo", "style"), pk=pk)
    try:
        if action == "pick":
            index = request.POST.get("cell", "")
            result = services.style_lab_pick(
                lab=lab,
                index=int(index) if index in {str(i) for i in range(len(lab.cells))} else -1,
                quality=request.POST.get("quality", "standard"),
            )
            return redirect(result)  # the render page shows its notice
        if action == "cancel":
            StyleLab.cancel(lab.pk)
            messages.info(request, "Cancelled.")
        elif action == "delete":
            photo = lab.photo
            services.style_lab_delete(lab=lab)
            messages.success(request, "Style lab deleted.")
            return redirect(photo)
        else:
            raise Http404("Unknown action.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(lab)
