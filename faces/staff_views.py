"""Staff pages: the directory, enrollment, merges with undo, its unknown-face groups, thresholds.

Staff see the directory's own faces (enrollment photos) and faces users chose to share, never
crops or photos of other faces on users' photos; history and groups are the directory's only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from faces import conf, services
from faces.forms import (
    CalibrateForm,
    EnrollForm,
    MergeForm,
    NameSuggestionForm,
    PersonCreateForm,
    PersonEditForm,
    ThresholdForm,
)
from faces.identify import explain_nearest
from faces.models import (
    Calibration,
    Clustering,
    Face,
    FaceScan,
    PeopleEvent,
    Person,
    Suggestion,
    SuggestionKind,
    SuggestionStatus,
    ThresholdOverride,
    Upload,
)
from faces.selectors import directory_people
from faces.views import suggestion_decision
from nstsite.auth import AuthenticatedHttpRequest
from nstsite.errors import staff_member_required  # our log-in and 403 pages, not the admin's
from nstsite.inputs import optional_id

DIRECTORY_FACES = Q(upload__purpose="enroll") | Q(shared=True)


def _errors(request: AuthenticatedHttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@staff_member_required
def people(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PersonCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            person = services.person_create(
                name=form.cleaned_data["name"], notes=form.cleaned_data["notes"], actor=request.user
            )
            scans, errors = services.person_enroll(person=person, files=form.cleaned_data["photos"], actor=request.user)
        for error in errors:
            messages.error(request, error)
        messages.success(request, f"Added {person}. {len(scans)} photo(s) are being scanned for their face.")
        return redirect("faces:directory-person", person.pk)
    query = request.GET.get("q", "").strip()
    show_hidden = request.GET.get("hidden") == "1"
    queryset = (
        directory_people()
        .annotate(
            face_count=Count("faces", filter=Q(faces__upload__purpose="enroll") | Q(faces__shared=True), distinct=True)
        )
        .order_by("name", "id")
    )
    if query:
        queryset = queryset.filter(name__icontains=query)
    if not show_hidden:
        queryset = queryset.filter(hidden=False)
    page = Paginator(
        queryset.prefetch_related(
            Prefetch(
                "faces", queryset=Face.objects.filter(DIRECTORY_FACES).exclude(crop="").order_by("-assignment", "id")
            )
        ),
        48,
    ).get_page(request.GET.get("page"))
    return render(request, "faces/directory.html", {"page": page, "form": form, "q": query, "show_hidden": show_hidden})


def _person(pk: int) -> Person:
    return get_object_or_404(directory_people(), pk=pk)


@staff_member_required
def person(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Person.objects.directory().select_related("merged_into"), pk=pk)
    if item.merged_into_id:
        messages.info(request, f"{item.name} was merged into {item.merged_into}.")
        return redirect("faces:directory-person", item.merged_into_id)
    edit = PersonEditForm(request.POST or None, initial={"name": item.name, "notes": item.notes, "hidden": item.hidden})
    if request.method == "POST" and edit.is_valid():
        services.person_update(person=item, actor=request.user, **edit.cleaned_data)
        messages.success(request, "Saved.")
        return redirect("faces:directory-person", item.pk)
    faces = item.faces.filter(DIRECTORY_FACES).select_related("photo", "upload").order_by("assignment", "-created")
    # Offered by their owners for this person (named as them, shared, not enrolled yet).
    shared = Face.objects.filter(shared=True, person=item).exclude(assignment="enrolled").exclude(crop="")[:48]
    uploads = item.uploads.prefetch_related("faces", "scans").order_by("-created")
    pending = [
        u
        for u in uploads
        if any(s.is_active for s in u.scans.all())
        or (len(u.faces.all()) > 1 and not any(f.person_id for f in u.faces.all()))
    ]
    return render(
        request,
        "faces/directory_person.html",
        {
            "person": item,
            "edit": edit,
            "enroll": EnrollForm(),
            "merge": MergeForm(person=item),
            "faces": faces,
            "shared": shared,
            "user_faces": item.faces.exclude(DIRECTORY_FACES).count(),
            "uploads": uploads,
            "pending": pending,
            "events": PeopleEvent.objects.filter(Q(person=item) | Q(other=item), owner__isnull=True)[:20],
        },
    )


@staff_member_required
@require_POST
def person_enroll(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = _person(pk)
    form = EnrollForm(request.POST, request.FILES)
    if form.is_valid():
        scans, errors = services.person_enroll(person=item, files=form.cleaned_data["photos"], actor=request.user)
        for error in errors:
            messages.error(request, error)
        if scans:
            messages.success(request, f"{len(scans)} photo(s) are being scanned for {item}'s face.")
    else:
        messages.error(request, "Choose one or more photos.")
    return redirect("faces:directory-person", item.pk)


@staff_member_required
@require_POST
def enroll_choose(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    face = get_object_or_404(Face.objects.select_related("upload__person"), pk=pk, upload__purpose="enroll")
    try:
        services.enroll_choose(face=face, actor=request.user)
        messages.success(request, "Enrolled that face.")
    except ValidationError as exc:
        _errors(request, exc)
    return (
        redirect("faces:directory-person", face.upload.person_id)
        if face.upload and face.upload.person_id
        else redirect("faces:directory")
    )


@staff_member_required
@require_POST
def person_merge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = _person(pk)
    form = MergeForm(request.POST, person=item)
    if not form.is_valid():
        messages.error(request, "Pick the person to merge into.")
        return redirect("faces:directory-person", item.pk)
    target = form.cleaned_data["into"]
    try:
        services.person_merge(source=item, target=target, actor=request.user)
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("faces:directory-person", item.pk)
    messages.success(request, f"Merged {item} into {target}. You can undo this from the History page.")
    return redirect("faces:directory-person", target.pk)


@staff_member_required
@require_POST
def person_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = _person(pk)
    name = item.name
    counts = services.person_delete(person=item, actor=request.user)
    messages.success(
        request,
        f"Deleted {name}: {counts['photos']} enrollment photo(s) with {counts['faces']} face(s); "
        f"{counts['unlinked']} face(s) on users' photos are unknown now.",
    )
    return redirect("faces:directory")


@staff_member_required
def events(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = Paginator(PeopleEvent.objects.filter(owner__isnull=True).select_related("actor"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "faces/events.html", {"page": page})


@staff_member_required
@require_POST
def event_undo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(PeopleEvent, pk=pk, owner__isnull=True)
    try:
        services.event_undo(event=event, actor=request.user)
        messages.success(request, f"Undone: {event}.")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("faces:events")


@staff_member_required
def suggestions(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.clustering_create(actor=request.user, owner=None)
        messages.success(request, "Grouping unknown faces… refresh in a moment.")
        return redirect("faces:suggestions")
    open_items = Suggestion.objects.filter(status=SuggestionStatus.OPEN, owner__isnull=True)
    clusters = open_items.filter(kind=SuggestionKind.CLUSTER).prefetch_related(
        Prefetch("faces", queryset=Face.objects.order_by("id"))
    )[:50]
    merges = open_items.filter(kind=SuggestionKind.MERGE).select_related("person_a", "person_b")[:50]
    return render(
        request,
        "faces/suggestions.html",
        {
            "clusters": clusters,
            "merges": merges,
            "last_run": Clustering.objects.filter(owner__isnull=True).first(),
            "name_form": NameSuggestionForm(),
        },
    )


@staff_member_required
@require_POST
def suggestion_decide(request: AuthenticatedHttpRequest, pk: int, decision: str) -> HttpResponse:
    """Name a directory group of unknown faces (a new person), merge two directory people, or dismiss."""
    item = get_object_or_404(Suggestion, pk=pk, owner__isnull=True, status=SuggestionStatus.OPEN)
    return suggestion_decision(request, item, decision, back="faces:suggestions", said={
        "name": "Created {done} from {suggestion.size} faces.",
        "merge": "Merged {suggestion.person_b} into {suggestion.person_a} (undo in the history).",
        "dismiss": "Dismissed.",
    })  # fmt: skip


@staff_member_required
def thresholds(request: AuthenticatedHttpRequest) -> HttpResponse:
    embedder = conf.embedder_name()
    if request.method == "POST":
        form: CalibrateForm | ThresholdForm
        if "target_far" in request.POST:
            form = CalibrateForm(request.POST)
            if form.is_valid():
                try:
                    services.calibration_create(actor=request.user, target_far=form.cleaned_data["target_far"])
                    messages.success(request, "Calibrating… refresh in a moment, then review and apply.")
                except ValidationError as exc:
                    _errors(request, exc)
        elif "apply" in request.POST:
            calibration = get_object_or_404(Calibration, pk=optional_id(request.POST, "apply") or 0)
            try:
                services.calibration_apply(calibration=calibration, actor=request.user)
                messages.success(request, f"Threshold {calibration.threshold:.4f} applied; names are being updated.")
            except ValidationError as exc:
                _errors(request, exc)
        else:
            form = ThresholdForm(request.POST)
            if form.is_valid():
                try:
                    services.threshold_override_set(
                        embedder=embedder, threshold=form.cleaned_data["threshold"], actor=request.user
                    )
                    messages.success(request, "Threshold saved.")
                except ValidationError as exc:
                    _errors(request, exc)
        return redirect("faces:thresholds")
    latest = Calibration.objects.filter(embedder=embedder).first()
    override = ThresholdOverride.objects.filter(embedder=embedder).first()
    return render(
        request,
        "faces/thresholds.html",
        {
            "embedder": embedder,
            "threshold": services.threshold_for(embedder),
            "default": conf.embedder_default_threshold(embedder),
            "latest": latest,
            "calibrations": Calibration.objects.filter(embedder=embedder)[:10],
            "override": override,
            "calibrate_form": CalibrateForm(initial={"target_far": conf.target_far()}),
            "threshold_form": ThresholdForm(initial={"threshold": override.threshold if override else None}),
            # EXPLAIN runs a query planner pass: only when an administrator asks for it, not on every load.
            "plan": explain_nearest(embedder) if request.user.is_superuser and request.GET.get("plan") else "",
            "references": Face.objects.filter(embedder=embedder, assignment="enrolled").count(),
            "user_references": Face.objects.filter(embedder=embedder, assignment="confirmed").count(),
            "scans": FaceScan.objects.filter(embedder=embedder).count(),
            "uploads": Upload.objects.count(),
        },
    )


@staff_member_required
@require_POST
def shared_enroll(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Enroll a face its owner shared (never another) into a directory person."""
    face = get_object_or_404(Face, pk=pk, shared=True)
    target = _person(optional_id(request.POST, "person") or 0)
    try:
        services.shared_face_enroll(face=face, person=target, actor=request.user)
        messages.success(request, f"Enrolled a shared face as {target}.")
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("faces:directory-person", target.pk)
