"""Admin for the directory. Deleting people always goes through the deletion service, so the bulk
"delete selected" action also removes enrollment photos with their faces, embeddings and crops,
and unlinks (never deletes) faces on users' photos.

Privacy: the admin shows the directory only — its people, the faces of its enrollment photos and
faces users chose to share. Users' own people, their other faces and their crops never appear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from faces import services
from faces.forms import MultipleFileField
from faces.models import Calibration, Clustering, Face, FaceScan, PeopleEvent, Person, Suggestion, Verification

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class PersonAdminForm(forms.ModelForm):
    enroll_photos = MultipleFileField(
        required=False,
        help_text="Photos of this person; each is scanned for the face "
        "(choose on the person page when a photo has several).",
    )

    class Meta:
        model = Person
        fields = ["name", "notes", "hidden"]


DIRECTORY_FACES = Q(upload__purpose="enroll") | Q(shared=True)


class FaceInline(admin.TabularInline):
    model = Face
    fk_name = "person"
    extra = 0
    can_delete = False
    fields = ["thumb", "assignment", "distance", "embedder", "photo", "upload"]
    # The same list: plain field names, no fieldset groups (list invariance hides that from mypy).
    readonly_fields = cast(list[str], fields)
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        return super().get_queryset(request).filter(DIRECTORY_FACES)

    @admin.display(description="face")
    def thumb(self, face: Face) -> str:
        return format_html('<img src="{}" width="64" height="64" alt="">', face.crop_url()) if face.crop else "—"


def _staff(request: HttpRequest) -> User:
    """The admin's user: the admin site lets only signed-in staff through."""
    return cast("User", request.user)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonAdminForm
    list_display = ["name", "hidden", "face_count", "merged_into", "created"]
    list_filter = ["hidden"]
    search_fields = ["name"]
    inlines = [FaceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return (
            super()
            .get_queryset(request)
            .filter(owner__isnull=True)
            .annotate(face_count=Count("faces", filter=Q(faces__upload__purpose="enroll") | Q(faces__shared=True)))
        )

    @admin.display(ordering="face_count")
    def face_count(self, person: Person) -> int:
        return int(cast(Any, person).face_count)  # annotated by get_queryset

    def save_model(self, request: HttpRequest, obj: Person, form: forms.Form, change: bool) -> None:
        if change:
            services.person_update(
                person=Person.objects.get(pk=obj.pk),
                actor=_staff(request),
                name=obj.name,
                notes=obj.notes,
                hidden=obj.hidden,
            )
            obj.refresh_from_db()
        else:
            created = services.person_create(name=obj.name, notes=obj.notes, actor=_staff(request))
            obj.pk, obj.created, obj.updated = created.pk, created.created, created.updated
            obj._state.adding = False
        files = form.cleaned_data.get("enroll_photos") or []
        if files:
            scans, errors = services.person_enroll(person=obj, files=files, actor=_staff(request))
            for error in errors:
                self.message_user(request, error, messages.ERROR)
            self.message_user(request, f"{len(scans)} photo(s) queued for enrollment.")

    def delete_model(self, request: HttpRequest, obj: Person) -> None:
        services.person_delete(person=obj, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        services.people_delete(people=queryset, actor=_staff(request))


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    """Directory faces only (enrollment photos and shared faces)."""

    list_display = ["id", "person", "assignment", "distance", "embedder", "owner", "photo", "upload", "created"]
    list_filter = ["assignment", "embedder"]
    search_fields = ["person__name", "owner__username"]
    # The embedding is biometric data: never shown, never editable here.
    exclude = ["embedding"]
    readonly_fields = [
        "owner",
        "photo",
        "upload",
        "x1",
        "y1",
        "x2",
        "y2",
        "landmarks",
        "score",
        "crop",
        "embedder",
        "distance",
    ]
    raw_id_fields = ["person", "rejected", "suggestion", "assigned_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Face]:
        return super().get_queryset(request).filter(DIRECTORY_FACES)


@admin.register(PeopleEvent)
class PeopleEventAdmin(admin.ModelAdmin):
    list_display = ["created", "action", "person_name", "other_name", "actor", "undone"]
    list_filter = ["action"]
    readonly_fields = [f.name for f in PeopleEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PeopleEvent]:
        return super().get_queryset(request).filter(owner__isnull=True)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FaceScan)
class FaceScanAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "photo", "upload", "status", "face_count", "embedder", "created"]
    list_filter = ["status", "embedder"]


admin.site.register(Verification, list_display=["id", "owner", "status", "same", "distance", "threshold", "created"])


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "size", "person_a", "person_b", "distance"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Suggestion]:
        return super().get_queryset(request).filter(owner__isnull=True)


admin.site.register(
    Clustering, list_display=["id", "status", "eps", "min_faces", "clusters_found", "merges_found", "created"]
)
admin.site.register(
    Calibration, list_display=["id", "embedder", "status", "target_far", "threshold", "tar", "far", "created"]
)
