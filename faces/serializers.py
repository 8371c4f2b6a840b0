"""API serializers: explicit fields, never an embedding, crops only as owner-checked URLs."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from faces.models import Face, FaceScan, PeopleEvent, Person, Suggestion, Upload, Verification


class PersonRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "name"]


class PersonSerializer(serializers.ModelSerializer):
    face_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "name", "notes", "hidden", "face_count", "created", "updated"]
        read_only_fields = ["id", "face_count", "created", "updated"]


class FaceSerializer(serializers.ModelSerializer):
    box = serializers.SerializerMethodField()
    person = serializers.SerializerMethodField()
    unknown = serializers.SerializerMethodField()
    crop_url = serializers.SerializerMethodField()

    class Meta:
        model = Face
        fields = ["id", "photo", "box", "score", "person", "unknown", "assignment", "distance", "embedder", "crop_url"]

    def get_box(self, face: Face) -> list[float]:
        return [round(v, 1) for v in face.box]

    def get_person(self, face: Face) -> dict | None:  # type: ignore[type-arg]
        return PersonRefSerializer(face.person).data if face.person else None

    def get_unknown(self, face: Face) -> bool:
        return face.assignment not in ("auto", "confirmed", "enrolled")

    def get_crop_url(self, face: Face) -> str | None:
        request = self.context.get("request")
        if not face.crop:
            return None
        url = reverse("faces:crop", args=[face.pk])
        return request.build_absolute_uri(url) if request else url


class ScanSerializer(serializers.ModelSerializer):
    faces = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = FaceScan
        fields = ["id", "status", "progress", "error", "photo", "embedder", "threshold", "face_count", "notice",
                  "created", "finished_at", "status_url", "faces"]  # fmt: skip

    def get_faces(self, scan: FaceScan) -> list[dict]:  # type: ignore[type-arg]
        if scan.is_active:
            return []
        source = {"photo_id": scan.photo_id} if scan.photo_id else {"upload_id": scan.upload_id}
        faces = Face.objects.filter(**source).select_related("person").order_by("x1", "id")
        return FaceSerializer(faces, many=True, context=self.context).data  # type: ignore[return-value]

    def get_status_url(self, scan: FaceScan) -> str:
        request = self.context.get("request")
        url = reverse("api-faces-scan-detail", args=[scan.pk])
        return request.build_absolute_uri(url) if request else url


class IdentifyRequestSerializer(serializers.Serializer):
    image = serializers.FileField(required=False, help_text="A JPEG, PNG or WebP photo.")
    photo = serializers.IntegerField(required=False, help_text="Or the id of one of your gallery photos.")

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        if ("image" in attrs) == ("photo" in attrs):
            raise serializers.ValidationError("Send either an image or a photo id.")
        return attrs


class VerifyRequestSerializer(serializers.Serializer):
    image_a = serializers.FileField(required=False)
    photo_a = serializers.IntegerField(required=False)
    image_b = serializers.FileField(required=False)
    photo_b = serializers.IntegerField(required=False)
    person = serializers.IntegerField(required=False, help_text="Compare image/photo a with this person (staff only).")

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        if ("image_a" in attrs) == ("photo_a" in attrs):
            raise serializers.ValidationError("Send image_a or photo_a.")
        if sum(k in attrs for k in ("image_b", "photo_b", "person")) != 1:
            raise serializers.ValidationError("Send one of image_b, photo_b or person.")
        return attrs


class VerificationSerializer(serializers.ModelSerializer):
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
    person = serializers.IntegerField()


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text="The person who remains.")


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = PeopleEvent
        fields = ["id", "action", "person", "person_name", "other", "other_name", "created", "undone", "can_undo"]


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
    name = serializers.CharField(max_length=200)


class UploadSerializer(serializers.ModelSerializer):
    """An image you uploaded to identify or verify (the file is served only to you)."""

    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "original_name", "width", "height", "created", "image_url"]
        read_only_fields = fields

    def get_image_url(self, upload: Upload) -> str:
        request = self.context.get("request")
        url = reverse("faces:upload_image", args=[upload.pk])
        return request.build_absolute_uri(url) if request else url
