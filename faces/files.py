"""Faces media files, each looked up within what the requester may see (404 otherwise), then
served by :func:`nstsite.files.serve` (streamed, or a signed URL on S3) like the gallery's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponseBase
from django.shortcuts import get_object_or_404

from faces.models import Calibration, Face, Upload, UploadPurpose
from gallery.models import Photo
from nstsite.auth import AuthenticatedHttpRequest
from nstsite.errors import staff_member_required  # our log-in and 403 pages, not the admin's
from nstsite.files import serve


@login_required
def photo_image(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    return serve(get_object_or_404(Photo, pk=pk, owner=request.user).image)


@login_required
def upload_image(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """An uploaded image: its sender's; staff also every enrollment photo."""
    upload = get_object_or_404(Upload, pk=pk)
    if upload.owner_id != request.user.pk and not (request.user.is_staff and upload.purpose == UploadPurpose.ENROLL):
        raise Http404
    return serve(upload.image)


@login_required
def crop(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """A face crop: the photo's owner; staff also the directory's faces (enrollment photos) and
    faces their owners shared — never other faces on users' photos."""
    visible = Q(owner=request.user)
    if request.user.is_staff:
        visible |= Q(upload__purpose=UploadPurpose.ENROLL) | Q(shared=True)
    return serve(get_object_or_404(Face.objects.filter(visible), pk=pk).crop)


@staff_member_required
def calibration_roc(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    return serve(get_object_or_404(Calibration, pk=pk).roc)
