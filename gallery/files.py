"""Gallery media files, served only to their owner (session or token auth). Another user's id is a 404.

Each view looks the object up in the requesting user's own rows, then :func:`nstsite.files.serve`
streams it (or redirects to a signed URL on S3).
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request

from gallery.models import Photo, Render, Style, StyleLab
from nstsite.files import serve

BINARY = extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY}, tags=["files"])


@BINARY
@api_view(["GET"])
def photo_file(request: Request, pk: int) -> HttpResponseBase:
    photo = get_object_or_404(Photo, pk=pk, owner=request.user)
    return serve(photo.image, download_name=photo.download_name() if "download" in request.GET else None)


@BINARY
@api_view(["GET"])
def photo_thumb(request: Request, pk: int) -> HttpResponseBase:
    return serve(get_object_or_404(Photo, pk=pk, owner=request.user).thumbnail)


@BINARY
@api_view(["GET"])
def photo_preset_preview(request: Request, pk: int, preset_id: int) -> HttpResponseBase:
    """One preset on one of your photos, small (see gallery/previews.py)."""
    from gallery.previews import preview_name

    photo = get_object_or_404(Photo, pk=pk, owner=request.user)
    name = preview_name(photo, preset_id)
    if not default_storage.exists(name):
        raise Http404("Not rendered yet.")
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@BINARY
@api_view(["GET"])
def style_thumb(request: Request, pk: int) -> HttpResponseBase:
    style = get_object_or_404(Style, Q(owner__isnull=True) | Q(owner=request.user), pk=pk)
    return serve(style.thumbnail)


@BINARY
@api_view(["GET"])
def style_image(request: Request, pk: int) -> HttpResponseBase:
    return serve(get_object_or_404(Style, pk=pk, owner=request.user).image)


@BINARY
@api_view(["GET"])
def render_file(request: Request, pk: int) -> HttpResponseBase:
    render = get_object_or_404(Render.objects.select_related("photo"), pk=pk, owner=request.user)
    return serve(render.result, download_name=render.download_name() if "download" in request.GET else None)


@BINARY
@api_view(["GET"])
def render_preview(request: Request, pk: int) -> HttpResponseBase:
    return serve(get_object_or_404(Render, pk=pk, owner=request.user).preview)


def landing_image(request: HttpRequest, name: str) -> HttpResponseBase:
    """A landing-page example picture: public, but only the names its manifest lists."""
    from gallery.landing import examples

    if not any(name in (item.get("before"), item.get("after")) for item in examples()):
        raise Http404("No such example.")
    try:
        handle = default_storage.open(f"landing/{name}", "rb")
    except FileNotFoundError:
        raise Http404("File missing.") from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@BINARY
@api_view(["GET"])
def lab_cell(request: Request, pk: int, index: int) -> HttpResponseBase:
    """One rendered cell of the user's own style lab (``index`` in row order); 404 until it is drawn."""
    lab = get_object_or_404(StyleLab, pk=pk, owner=request.user)
    if not 0 <= index < len(lab.cells) or not lab.cells[index].get("image"):
        raise Http404("Not rendered yet.")
    # Cell names live in JSON; a FieldFile over the lab's file field lets serve() treat them alike.
    return serve(FieldFile(lab, lab._meta.get_field("sheet"), lab.cells[index]["image"]))


@BINARY
@api_view(["GET"])
def lab_sheet(request: Request, pk: int) -> HttpResponseBase:
    lab = get_object_or_404(StyleLab, pk=pk, owner=request.user)
    return serve(lab.sheet, download_name=f"style-lab-{lab.pk}.jpg" if "download" in request.GET else None)
