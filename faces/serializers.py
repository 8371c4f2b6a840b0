"""API serializers: explicit fields, never an embedding, crops only as owner-checked URLs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from faces.models import Face, FaceScan, PeopleEvent, Person, Suggestion, Upload, Verification
from gallery.models import Photo  # at run time: drf-spectacular reads method fields' annotations
from nstsite.rest import StrictCharField


class PersonRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "name"]


class PersonSerializer(serializers.ModelSerializer):
    """A directory entry as staff manage it."""

    face_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "notes", "hidden", "face_count", "created", "updated"]
        read_only_fields = ["id", "face_count", "created", "updated"]


def _absolute(context: Mapping[str, Any], url: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url


class MyPersonSerializer(serializers.ModelSerializer):
    """One of the caller's people (``directory: false``), or a directory entry — by name only."""

    directory = serializers.SerializerMethodField()
    photo_count = serializers.SerializerMethodField()
    cover_url = serializers.SerializerMethodField()
    directory_person = serializers.SerializerMethodField()
    photos_url = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["id", "name", "directory", "hidden", "photo_count", "cover_url", "directory_person", "photos_url"]
        read_only_fields = ["id", "directory", "photo_count", "cover_url", "directory_person", "photos_url"]

    def to_representation(self, person: Person) -> dict:
        data = super().to_representation(person)
        if person.owner_id is None:  # the directory: a name to pick, nothing more
            return {"id": data["id"], "name": data["name"], "directory": True}
        return data

    def get_directory(self, person: Person) -> bool:
        return person.owner_id is None

    def get_photo_count(self, person: Person) -> int:
        return int(getattr(person, "photo_count", 0) or 0)

    def get_cover_url(self, person: Person) -> str | None:
        if person.cover_id is None:
            return None
        return _absolute(self.context, reverse("api-faces-face-crop", args=[person.cover_id]))

    def get_directory_person(self, person: Person) -> dict | None:
        linked = person.directory_person
        return {"id": linked.pk, "name": linked.name} if linked else None

    def get_photos_url(self, person: Person) -> str:
        return _absolute(self.context, reverse("api-faces-my-person-photos", args=[person.pk]))


class PhotoRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = StrictCharField()
    created = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, photo: Photo) -> str:
        return _absolute(self.context, reverse("api-photo-detail", args=[photo.pk]))


class LinkSerializer(serializers.Serializer):
    directory_person = serializers.IntegerField(
        allow_null=True, help_text="A directory person's id, or null to unlink."
    )


class ShareSerializer(serializers.Serializer):
    shared = serializers.BooleanField()


class FaceSettingsSerializer(serializers.Serializer):
    recognition = serializers.BooleanField(
        help_text="Find and recognise faces in my photos. Off erases every face embedding of yours."
    )


class StaffOnlyFields:
    """Numbers only staff receive — distances, thresholds, scores ("shown to staff only", README):
    for anyone else these fields are absent from the data. The schema is the same for every reader
    and documents them as absent (staff's answers carry extra properties)."""

    staff_only: tuple[str, ...] = ()

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()  # type: ignore[misc]
        context = self.context  # type: ignore[attr-defined]
        user = getattr(context.get("request"), "user", None)
        for_schema = getattr(context.get("view"), "swagger_fake_view", False)  # drf-spectacular's marker
        if for_schema or not (user is not None and user.is_authenticated and user.is_staff):
            for name in self.staff_only:
                fields.pop(name, None)
        return fields


class FaceSerializer(StaffOnlyFields, serializers.ModelSerializer):
    staff_only = ("score", "distance")
    box = serializers.SerializerMethodField()
    person = serializers.SerializerMethodField()
    unknown = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()

    class Meta:
        model = Face
        fields = ["id", "photo", "box", "score", "person", "unknown", "assignment", "distance", "embedder", "shared",
                  "crop_url"]  # fmt: skip

    def get_box(self, face: Face) -> list[float]:
        return [round(v, 1) for v in face.box]

    def get_person(self, face: Face) -> dict | None:
        return PersonRefSerializer(face.person).data if face.person else None

    def get_unknown(self, face: Face) -> bool:
        return face.assignment not in ("auto", "confirmed", "enrolled")

    def get_crop_url(self, face: Face) -> str | None:
        """An API URL (token or session auth; the face's owner only)."""
        if not face.crop:
            return None
        return _absolute(self.context, reverse("api-faces-face-crop", args=[face.pk]))


class DirectoryFaceSerializer(FaceSerializer):
    """A directory face for staff: its crop through the staff-checked page URL."""

    def get_crop_url(self, face: Face) -> str | None:
        return _absolute(self.context, reverse("faces:crop", args=[face.pk])) if face.crop else None


class ScanSerializer(StaffOnlyFields, serializers.ModelSerializer):
    staff_only = ("threshold",)
    faces = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = FaceScan
        fields = ["id", "status", "progress", "error", "photo", "embedder", "threshold", "face_count", "notice",
                  "created", "finished_at", "status_url", "faces"]  # fmt: skip

    def get_faces(self, scan: FaceScan) -> list[dict]:
        if scan.is_active:
            return []
        source = {"photo_id": scan.photo_id} if scan.photo_id else {"upload_id": scan.upload_id}
        faces = Face.objects.filter(**source).select_related("person").order_by("x1", "id")
        return list(FaceSerializer(faces, many=True, context=self.context).data)

    def get_status_url(self, scan: FaceScan) -> str:
        request = self.context.get("request")
        url = reverse("api-faces-scan-detail", args=[scan.pk])
        return request.build_absolute_uri(url) if request else url


class IdentifyRequestSerializer(serializers.Serializer):
    image = serializers.FileField(required=False, help_text="A JPEG, PNG or WebP photo.")
    photo = serializers.IntegerField(required=False, help_text="Or the id of one of your gallery photos.")

    def validate(self, attrs: dict) -> dict:
        if ("image" in attrs) == ("photo" in attrs):
            raise serializers.ValidationError("Send either an image or a photo id.")
        return attrs


class VerifyRequestSerializer(serializers.Serializer):
    image_a = serializers.FileField(required=False)
    photo_a = serializers.IntegerField(required=False)
    image_b = serializers.FileField(required=False)
    photo_b = serializers.IntegerField(required=False)
    person = serializers.IntegerField(required=False, help_text="Compare image/photo a with this person (staff only).")

    def validate(self, attrs: dict) -> dict:
        if ("image_a" in attrs) == ("photo_a" in attrs):
            raise serializers.ValidationError("Send image_a or photo_a.")
        if sum(k in attrs for k in ("image_b", "photo_b", "person")) != 1:
            raise serializers.ValidationError("Send one of image_b, photo_b or person.")
        return attrs


class VerificationSerializer(StaffOnlyFields, serializers.ModelSerializer):
    staff_only = ("distance", "threshold", "score")
    person = PersonRefSerializer(read_only=True)
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Verification
        fields = ["id", "status", "error", "same", "distance", "threshold", "score", "box_a", "box_b", "person",
                  "embedder", "created", "finished_at", "status_url"]  # fmt: skip

    def get_status_url(self, v: Verification) -> str:
        request = self.context.get("request")
        url = reverse("api-faces-verification-detail", args=[v.pk])
        return request.build_absolute_uri(url) if request else url


class AssignSerializer(serializers.Serializer):
    person = serializers.IntegerField(required=False, help_text="One of your people, or a directory person.")
    name = StrictCharField(
        required=False, max_length=200, help_text="Or a name: yours or the directory's, else a new person of yours."
    )

    def validate(self, attrs: dict) -> dict:
        if ("person" in attrs) == ("name" in attrs):
            raise serializers.ValidationError("Send either a person id or a name.")
        return attrs


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text="The person who remains.")


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = PeopleEvent
        fields = ["id", "action", "person", "person_name", "other", "other_name", "details", "created", "undone",
                  "can_undo"]  # fmt: skip


class SuggestionSerializer(serializers.ModelSerializer):
    faces = serializers.SerializerMethodField()
    person_a = PersonRefSerializer(read_only=True)
    person_b = PersonRefSerializer(read_only=True)

    class Meta:
        model = Suggestion
        fields = ["id", "kind", "status", "size", "distance", "person_a", "person_b", "faces", "created"]

    def get_faces(self, s: Suggestion) -> list[int]:
        return list(s.faces.values_list("id", flat=True)[:50])


class NameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)


class UploadSerializer(serializers.ModelSerializer):
    """An image you uploaded to identify or verify (the file is served only to you)."""

    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "original_name", "width", "height", "created", "image_url"]
        read_only_fields = fields

    def get_image_url(self, upload: Upload) -> str:
        request = self.context.get("request")
        url = reverse("faces:upload-image", args=[upload.pk])
        return request.build_absolute_uri(url) if request else url
