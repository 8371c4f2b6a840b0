"""Faces pages for every signed-in user: their photos' faces, their people, "who is this?" groups,
one-off identification, verification, and the face-recognition setting.

Every object is looked up within what the user owns (404 otherwise); files (photos, uploads,
crops) are served only through these owner-checked views, never from a public media URL.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from faces import services
from faces.forms import AssignForm, IdentifyForm, MyPersonForm, NameSuggestionForm, VerifyForm
from faces.models import (
    Face,
    FaceScan,
    PeopleEvent,
    Person,
    Suggestion,
    SuggestionStatus,
    Verification,
)
from faces.selectors import own_faces, people_of
from gallery.models import Photo
from nstsite.auth import AuthenticatedHttpRequest
from nstsite.inputs import optional_id
from nstsite.redirects import redirect_back


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
def photo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Photo, pk=pk, owner=request.user)
    return render(request, "faces/photo.html", {"photo": item})


@login_required
@require_POST
def photo_scan(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Photo, pk=pk, owner=request.user)
    try:
        with transaction.atomic():
            services.face_scan_create(photo=item)
    except services.RecognitionOff as exc:
        messages.error(request, exc.user_message)
        return redirect_back(request, reverse("faces:photo", args=[item.pk]))
    messages.success(request, "Looking for faces in this photo…")
    return redirect_back(request, reverse("faces:photo", args=[item.pk]))


@login_required
@require_POST
def identify(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = IdentifyForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a photo to upload.")
        return redirect("faces:home")
    try:
        scan = services.identification_create(owner=request.user, image=form.cleaned_data["image"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("faces:home")
    except services.RecognitionOff as exc:
        messages.error(request, exc.user_message)
        return redirect("faces:home")
    return redirect("faces:scan", scan.pk)


@login_required
def scan(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(FaceScan.objects.select_related("upload", "photo"), pk=pk, owner=request.user)
    if item.photo_id:
        return redirect("faces:photo", item.photo_id)
    return render(request, "faces/scan.html", {"scan": item, "upload": item.upload})


def _own_face(request: AuthenticatedHttpRequest, pk: int) -> Face:
    return get_object_or_404(own_faces(request.user).select_related("person"), pk=pk)


@login_required
@require_POST
def face_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    try:
        services.face_confirm(face=face, actor=request.user)
        messages.success(request, f"Confirmed: {face.person}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_back(request, reverse("faces:home"))


@login_required
@require_POST
def face_reject(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    name = str(face.person)
    try:
        event = services.face_reject(face=face, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        face.refresh_from_db()
        now = f"It now looks most like {face.person}." if face.person else "It is now an unknown face."
        # The "undo:<event>" tag makes base.html add an Undo button to the message.
        messages.success(request, f"Noted: not {name}, and never suggested again. {now}", extra_tags=f"undo:{event.pk}")
    return redirect_back(request, reverse("faces:home"))


@login_required
@require_POST
def face_assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Type a name.")
        return redirect_back(request, reverse("faces:home"))
    try:
        services.face_name(face=face, name=form.cleaned_data["name"], actor=request.user)
        face.refresh_from_db()
        messages.success(request, f"Named {face.person}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_back(request, reverse("faces:home"))


@login_required
@require_POST
def face_share(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    face = _own_face(request, pk)
    try:
        services.face_share(face=face, shared=request.POST.get("shared") == "1", actor=request.user)
        messages.success(request, "Offered to the directory." if face.shared else "No longer offered.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_back(request, reverse("faces:home"))


# --- your people ---------------------------------------------------------------------------------


@login_required
def people(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Your people (cover face, photo count) and the groups of unknown faces to name."""
    show_hidden = request.GET.get("hidden") == "1"
    mine = people_of(request.user)
    if not show_hidden:
        mine = mine.filter(hidden=False)
    groups = (
        Suggestion.objects.filter(owner=request.user, status=SuggestionStatus.OPEN, kind="cluster")
        .prefetch_related("faces")
        .order_by("-size", "id")[:24]
    )
    merges = Suggestion.objects.filter(owner=request.user, status=SuggestionStatus.OPEN, kind="merge").select_related(
        "person_a", "person_b"
    )[:12]
    return render(
        request,
        "faces/my_people.html",
        {
            "people": mine,
            "show_hidden": show_hidden,
            "groups": groups,
            "merges": merges,
            "name_form": NameSuggestionForm(),
            "recognition": services.recognition_enabled(user=request.user),
        },
    )


def _my_person(request: AuthenticatedHttpRequest, pk: int) -> Person:
    return get_object_or_404(people_of(request.user), pk=pk)


@login_required
def person(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One of your people: the photos they are in, rename/hide, merge, link, delete, history."""
    merged = Person.objects.filter(pk=pk, owner=request.user, merged_into__isnull=False).first()
    if merged is not None:
        messages.info(request, f"{merged.name} was merged into {merged.merged_into}.")
        return redirect("faces:person", merged.merged_into_id)
    item = _my_person(request, pk)
    form = MyPersonForm(request.POST or None, initial={"name": item.name, "hidden": item.hidden}, user=request.user,
                        person=item)  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.person_update(person=item, actor=request.user, name=data["name"], hidden=data["hidden"])
            if data.get("merge_into"):
                services.person_merge(source=item, target=data["merge_into"], actor=request.user)
                messages.success(request, f"Merged {item.name} into {data['merge_into']}: undo below.")
                return redirect("faces:person", data["merge_into"].pk)
            messages.success(request, "Saved.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("faces:person", item.pk)
    photos = (
        Photo.objects.filter(owner=request.user, faces__person=item, faces__owner=request.user)
        .distinct()
        .order_by("-created")
    )
    events = PeopleEvent.objects.filter(Q(person=item) | Q(other=item), owner=request.user)[:20]
    return render(request, "faces/my_person.html", {"person": item, "photos": photos, "form": form, "events": events})


@login_required
@require_POST
def person_link(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Link one of your people to the directory person they are (checked against the threshold)."""
    item = _my_person(request, pk)
    chosen = optional_id(request.POST, "directory_person")
    target = None
    if chosen is not None:
        target = get_object_or_404(Person.objects.directory().filter(hidden=False, merged_into__isnull=True), pk=chosen)
    try:
        services.person_link(person=item, directory_person=target, actor=request.user)
        messages.success(request, f"Linked to {target}." if target else "Unlinked.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("faces:person", item.pk)


@login_required
@require_POST
def person_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = _my_person(request, pk)
    counts = services.person_delete(person=item, actor=request.user)
    messages.success(request, f"Deleted {item.name}; {counts['unlinked']} face(s) are unknown again.")
    return redirect("faces:people")


@login_required
@require_POST
def event_undo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Undo one of your own changes (naming, "not this person", rename, merge)."""
    event = get_object_or_404(PeopleEvent, pk=pk, owner=request.user)
    try:
        services.event_undo(event=event, actor=request.user)
        messages.success(request, f"Undone: {event.get_action_display().lower()}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_back(request, reverse("faces:people"))


def suggestion_decision(
    request: AuthenticatedHttpRequest, suggestion: Suggestion, decision: str, *, back: str, said: dict[str, str]
) -> HttpResponse:
    """Apply a page's decision on ``suggestion`` (``faces.services.suggestion_decide``) and go ``back``.

    ``said`` words each outcome for the page; ``{done}`` stands for what the decision made.
    """
    form = NameSuggestionForm(request.POST)
    if decision == "name" and not form.is_valid():
        messages.error(request, "Type a name.")
        return redirect(back)
    name = form.cleaned_data["name"] if decision == "name" else ""
    try:
        done = services.suggestion_decide(suggestion=suggestion, decision=decision, name=name, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(request, said[decision].format(done=done, suggestion=suggestion))
    return redirect(back)


@login_required
@require_POST
def group_decide(request: AuthenticatedHttpRequest, pk: int, decision: str) -> HttpResponse:
    """Name (or dismiss) one of your groups of unknown faces; merge two of your people."""
    item = get_object_or_404(Suggestion, pk=pk, owner=request.user, status=SuggestionStatus.OPEN)
    return suggestion_decision(request, item, decision, back="faces:people", said={
        "name": "Named {done}.",
        "merge": "Merged {suggestion.person_b} into {suggestion.person_a}.",
        "dismiss": "Dismissed: these faces will not be suggested again.",
    })  # fmt: skip


@login_required
def face_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Turn face recognition on or off (off erases every embedding of the user's faces)."""
    if request.method == "POST":
        enabled = request.POST.get("recognition") == "on"
        erased = services.recognition_set(user=request.user, enabled=enabled)
        if enabled:
            messages.success(request, "Face recognition is on. Rescan photos to find faces again.")
        else:
            messages.success(request, f"Face recognition is off. {erased} face measurement(s) were erased.")
        return redirect("faces:settings")
    return render(request, "faces/settings.html", {"recognition": services.recognition_enabled(user=request.user)})


@login_required
def verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    staff = request.user.is_staff
    form = VerifyForm(request.POST or None, request.FILES or None, staff=staff)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            verification = services.verification_request(
                owner=request.user, image_a=data["image_a"], image_b=data.get("image_b"), person=data.get("person")
            )
            return redirect("faces:verification", verification.pk)
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
    recent = Verification.objects.filter(owner=request.user).select_related("person")[:10]
    return render(request, "faces/verify.html", {"form": form, "recent": recent})


@login_required
def verification(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Verification.objects.select_related("upload_a", "upload_b", "person"), pk=pk, owner=request.user
    )
    return render(request, "faces/verification.html", {"v": item})
