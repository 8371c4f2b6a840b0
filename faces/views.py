"""Faces pages for every signed-in user: their photos' faces, one-off identification, verification.

Every object is looked up within what the user owns (404 otherwise); files (photos, uploads,
crops) are served only through these owner-checked views, never from a public media URL.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from faces import services
from faces.forms import AssignForm, IdentifyForm, VerifyForm
from faces.models import Face, FaceScan, Upload, UploadPurpose, Verification
from faces.services.people import person_by_name
from faces.services.uploads import uploads_guard
from gallery.imaging import UploadError
from gallery.models import Photo
from nstsite.auth import AuthenticatedHttpRequest
from nstsite.redirects import redirect_back


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect_back(request, default)


def _serve(field) -> FileResponse:  # type: ignore[no-untyped-def]
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/png" if field.name.endswith(".png") else "image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def own_faces(user):  # type: ignore[no-untyped-def]
    """Faces a user may see and edit: those on their own photos and uploads."""
    return Face.objects.filter(owner=user)


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    photos = Photo.objects.filter(owner=request.user, faces__isnull=False).distinct().order_by("-created")[:24]
    scans = FaceScan.objects.filter(owner=request.user, upload__isnull=False).select_related("upload")[:12]
    named = (
        own_faces(request.user)
        .filter(person__isnull=False, assignment__in=("auto", "confirmed"))
        .values_list("person__name", flat=True)
        .distinct()
    )
    return render(
        request,
        "faces/home.html",
        {"photos": photos, "scans": scans, "names": sorted(set(named)), "form": IdentifyForm()},
    )


@login_required
def photo(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Photo, pk=pk, owner=request.user)
    return render(request, "faces/photo.html", {"photo": item})


@login_required
def photo_image(request: HttpRequest, pk: int) -> FileResponse:
    return _serve(get_object_or_404(Photo, pk=pk, owner=request.user).image)


@login_required
@require_POST
def photo_scan(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Photo, pk=pk, owner=request.user)
    with transaction.atomic():
        services.face_scan_create(photo=item)
    messages.success(request, "Looking for faces in this photo…")
    return _back(request, f"/faces/photos/{item.pk}/")


@login_required
@require_POST
def identify(request: HttpRequest) -> HttpResponse:
    form = IdentifyForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a photo to upload.")
        return redirect("faces:home")
    try:
        with transaction.atomic():
            upload = services.upload_create(
                owner=request.user, file=form.cleaned_data["image"], purpose=UploadPurpose.IDENTIFY
            )
            scan = services.face_scan_create(upload=upload)
    except UploadError as exc:
        messages.error(request, str(exc))
        return redirect("faces:home")
    return redirect("faces:scan", scan.pk)


@login_required
def scan(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(FaceScan.objects.select_related("upload", "photo"), pk=pk, owner=request.user)
    if item.photo_id:
        return redirect("faces:photo", item.photo_id)
    return render(request, "faces/scan.html", {"scan": item, "upload": item.upload})


@login_required
def scan_status(request: HttpRequest, pk: int) -> JsonResponse:
    item = get_object_or_404(FaceScan, pk=pk, owner=request.user)
    return JsonResponse(
        {"status": item.status, "progress": item.progress, "error": item.error, "finished": item.is_finished}
    )


@login_required
def upload_image(request: HttpRequest, pk: int) -> FileResponse:
    upload = get_object_or_404(Upload, pk=pk)
    if upload.owner_id != request.user.pk and not (request.user.is_staff and upload.purpose == UploadPurpose.ENROLL):
        raise Http404
    return _serve(upload.image)


@login_required
def crop(request: HttpRequest, pk: int) -> FileResponse:
    """A face crop: the photo's owner only (staff also for faces they manage in the people pages)."""
    queryset = Face.objects.all() if request.user.is_staff else own_faces(request.user)
    return _serve(get_object_or_404(queryset, pk=pk).crop)


def _own_face(request: HttpRequest, pk: int) -> Face:
    return get_object_or_404(own_faces(request.user).select_related("person"), pk=pk)


@login_required
@require_POST
def face_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    try:
        services.face_confirm(face=face, actor=request.user)
        messages.success(request, f"Confirmed: {face.person}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request, "/faces/")


@login_required
@require_POST
def face_reject(request: HttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    name = str(face.person)
    try:
        services.face_reject(face=face, actor=request.user)
        messages.success(request, f"Noted: this is not {name}. It will not be suggested again.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request, "/faces/")


@login_required
@require_POST
def face_assign(request: HttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type a name.")
        return _back(request, "/faces/")
    name = form.cleaned_data["name"]
    person = person_by_name(name)
    try:
        if person is None and request.user.is_staff:
            person = services.person_create(name=name, actor=request.user)
        if person is None:
            messages.error(request, f"No one called “{name}” is in the people database. Ask an admin to add them.")
            return _back(request, "/faces/")
        services.face_assign(face=face, person=person, actor=request.user)
        messages.success(request, f"Named {person}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(request, "/faces/")


@login_required
def verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    staff = request.user.is_staff
    form = VerifyForm(request.POST or None, request.FILES or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with uploads_guard() as stored:  # a refused second image leaves no file of the first behind
                upload_a = services.upload_create(
                    owner=request.user, file=data["image_a"], purpose=UploadPurpose.IDENTIFY
                )
                stored.append(upload_a)
                upload_b = None
                if data.get("image_b"):
                    upload_b = services.upload_create(
                        owner=request.user, file=data["image_b"], purpose=UploadPurpose.IDENTIFY
                    )
                    stored.append(upload_b)
                verification = services.verification_create(
                    owner=request.user, upload_a=upload_a, upload_b=upload_b, person=data.get("person")
                )
            return redirect("faces:verification", verification.pk)
        except UploadError as exc:
            form.add_error(None, str(exc))
    recent = Verification.objects.filter(owner=request.user).select_related("person")[:10]
    return render(request, "faces/verify.html", {"form": form, "recent": recent})


@login_required
def verification(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Verification.objects.select_related("upload_a", "upload_b", "person"), pk=pk, owner=request.user
    )
    return render(request, "faces/verification.html", {"v": item})


@login_required
def verification_status(request: HttpRequest, pk: int) -> JsonResponse:
    item = get_object_or_404(Verification, pk=pk, owner=request.user)
    return JsonResponse({"status": item.status, "finished": item.is_finished, "error": item.error})
