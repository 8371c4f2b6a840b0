"""REST API of the faces app (``/api/v1/``).

Identification and verification run models, so they are jobs: ``POST`` answers 202 with the
job's row and a ``status_url`` to poll. Users only ever see their own photos' faces; people
management is staff-only; embeddings never leave the server.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from faces import services
from faces.models import (
    Face,
    FaceScan,
    PeopleEvent,
    Person,
    Suggestion,
    SuggestionStatus,
    Upload,
    UploadPurpose,
    Verification,
)
from faces.serializers import (
    AssignSerializer,
    EventSerializer,
    FaceSerializer,
    IdentifyRequestSerializer,
    MergeSerializer,
    NameSerializer,
    PersonSerializer,
    ScanSerializer,
    SuggestionSerializer,
    UploadSerializer,
    VerificationSerializer,
    VerifyRequestSerializer,
)
from faces.services.people import active_people
from faces.services.uploads import scan_delete, upload_delete, uploads_guard, user_uploads, verification_delete
from gallery.imaging import UploadError
from gallery.models import Photo
from nstsite.auth import api_user
from nstsite.rest import UploadThrottle


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError({"non_field_errors": exc.messages})


SCAN_EXAMPLE = {
    "id": 12,
    "status": "succeeded",
    "progress": 1.0,
    "error": "",
    "photo": None,
    "embedder": "facenet-casia-webface",
    "threshold": 0.51,
    "face_count": 2,
    "notice": "",
    "created": "2026-01-01T10:00:00Z",
    "finished_at": "2026-01-01T10:00:01Z",
    "status_url": "https://example.org/api/v1/scans/12/",
    "faces": [
        {"id": 40, "photo": None, "box": [241.0, 101.0, 420.0, 330.0], "score": 0.999,
         "person": {"id": 3, "name": "Barack Obama"},
         "unknown": False, "assignment": "auto", "distance": 0.31, "embedder": "facenet-casia-webface", "crop_url": None},
        {"id": 41, "photo": None, "box": [700.0, 90.0, 860.0, 300.0], "score": 0.998, "person": None,
         "unknown": True, "assignment": "", "distance": None, "embedder": "facenet-casia-webface", "crop_url": None},
    ],
}  # fmt: skip


class IdentifyView(APIView):
    """Find and identify every face in a photo (a job: answers 202, poll ``status_url``)."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_throttles(self):  # type: ignore[no-untyped-def]
        return [*super().get_throttles(), UploadThrottle()]

    @extend_schema(
        request={"multipart/form-data": IdentifyRequestSerializer, "application/json": IdentifyRequestSerializer},
        responses={202: ScanSerializer, 400: OpenApiResponse(description="Not an image, or neither image nor photo"),
                   404: OpenApiResponse(description="No such photo of yours")},
        examples=[
            OpenApiExample("A gallery photo", value={"photo": 17}, request_only=True),
            OpenApiExample("Queued", value={**SCAN_EXAMPLE, "status": "queued", "faces": [], "threshold": None,
                                            "face_count": None, "finished_at": None},
                           response_only=True, status_codes=["202"]),
        ],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = IdentifyRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with uploads_guard() as stored:
            if "photo" in data.validated_data:
                photo = Photo.objects.filter(pk=data.validated_data["photo"], owner=api_user(request)).first()
                if photo is None:
                    raise NotFound("No such photo.")
                scan = services.face_scan_create(photo=photo)
            else:
                try:
                    upload = services.upload_create(
                        owner=request.user, file=data.validated_data["image"], purpose=UploadPurpose.IDENTIFY
                    )
                except UploadError as exc:
                    raise ValidationError({"image": [str(exc)]}) from exc
                stored.append(upload)
                scan = services.face_scan_create(upload=upload)
        body = ScanSerializer(scan, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class ScanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Face scans (identification jobs) of the calling user, with their faces once finished.

    Deleting a one-off identification deletes its uploaded image and faces too.
    """

    queryset = FaceScan.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = ScanSerializer

    def get_queryset(self) -> QuerySet[FaceScan]:
        return FaceScan.objects.filter(owner=api_user(self.request)).order_by("-created", "-id")

    @extend_schema(examples=[OpenApiExample("Finished", value=SCAN_EXAMPLE, response_only=True)])
    def retrieve(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        return super().retrieve(request, *args, **kwargs)

    def perform_destroy(self, instance: FaceScan) -> None:
        scan_delete(scan=instance)


class VerifyView(APIView):
    """Same person or not: two images/photos, or one against a person (staff). A job: 202."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_throttles(self):  # type: ignore[no-untyped-def]
        return [*super().get_throttles(), UploadThrottle()]

    @extend_schema(
        request={"multipart/form-data": VerifyRequestSerializer, "application/json": VerifyRequestSerializer},
        responses={202: VerificationSerializer, 400: OpenApiResponse(description="Invalid input"),
                   404: OpenApiResponse(description="No such photo or person")},
        examples=[
            OpenApiExample("Two gallery photos", value={"photo_a": 17, "photo_b": 18}, request_only=True),
            OpenApiExample("Finished", response_only=True, status_codes=["202"], value={
                "id": 5, "status": "succeeded", "error": "", "same": True, "distance": 0.29, "threshold": 0.51,
                "score": 0.98, "box_a": [10, 12, 120, 150], "box_b": [40, 30, 160, 170], "person": None,
                "embedder": "facenet-casia-webface", "created": "2026-01-01T10:00:00Z", "finished_at": "2026-01-01T10:00:01Z",
                "status_url": "https://example.org/api/v1/verifications/5/"}),
        ],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = VerifyRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = api_user(request)
        sides: dict[str, object] = {}
        with uploads_guard() as stored:  # a refused second image leaves no file of the first behind
            for side in ("a", "b"):
                if f"photo_{side}" in v:
                    photo = Photo.objects.filter(pk=v[f"photo_{side}"], owner=user).first()
                    if photo is None:
                        raise NotFound("No such photo.")
                    sides[f"photo_{side}"] = photo
                elif f"image_{side}" in v:
                    try:
                        upload = services.upload_create(
                            owner=user, file=v[f"image_{side}"], purpose=UploadPurpose.IDENTIFY
                        )
                        stored.append(upload)
                        sides[f"upload_{side}"] = upload
                    except UploadError as exc:
                        raise ValidationError({f"image_{side}": [str(exc)]}) from exc
            if "person" in v:
                if not user.is_staff:
                    raise NotFound("No such person.")
                sides["person"] = get_object_or_404(active_people(), pk=v["person"])
            verification = services.verification_create(owner=user, **sides)  # type: ignore[arg-type]
        body = VerificationSerializer(verification, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


class VerificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Verifications of the calling user; deleting one deletes the images uploaded for it."""

    queryset = Verification.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = VerificationSerializer

    def get_queryset(self) -> QuerySet[Verification]:
        return Verification.objects.filter(owner=api_user(self.request)).select_related("person")

    def perform_destroy(self, instance: Verification) -> None:
        verification_delete(verification=instance)


class UploadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Images you uploaded to identify or verify; deleting one deletes its scans, faces and verifications."""

    queryset = Upload.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = UploadSerializer

    def get_queryset(self) -> QuerySet[Upload]:
        return user_uploads(api_user(self.request))

    def perform_destroy(self, instance: Upload) -> None:
        upload_delete(upload=instance)


class FaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Faces on the calling user's photos; confirm, correct or reject their names."""

    queryset = Face.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = FaceSerializer

    def get_queryset(self) -> QuerySet[Face]:
        queryset = Face.objects.filter(owner=api_user(self.request)).select_related("person").order_by("-created", "id")
        photo = self.request.query_params.get("photo")
        if photo and photo.isdigit():
            queryset = queryset.filter(photo_id=int(photo))
        return queryset

    def _respond(self, face: Face) -> Response:
        face.refresh_from_db()
        return Response(FaceSerializer(face, context={"request": self.request}).data)

    @extend_schema(request=None, responses=FaceSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        try:
            services.face_confirm(face=face, actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return self._respond(face)

    @extend_schema(request=None, responses=FaceSerializer, description="Not this person: remembered for good.")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        try:
            services.face_reject(face=face, actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return self._respond(face)

    @extend_schema(request=AssignSerializer, responses=FaceSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = active_people().filter(pk=data.validated_data["person"]).first()
        if person is None or (person.hidden and not request.user.is_staff):
            raise NotFound("No such person.")
        try:
            services.face_assign(face=face, person=person, actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return self._respond(face)


class PersonViewSet(viewsets.ModelViewSet):
    """The people database (staff only). Delete erases the person's faces, embeddings and photos."""

    queryset = Person.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = PersonSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self) -> QuerySet[Person]:
        queryset = active_people().annotate(face_count=Count("faces", distinct=True)).order_by("name", "id")
        if self.request.query_params.get("hidden") != "1" and self.action == "list":
            queryset = queryset.filter(hidden=False)
        return queryset

    def perform_create(self, serializer: PersonSerializer) -> None:  # type: ignore[override]
        data = serializer.validated_data
        person = services.person_create(name=data["name"], notes=data.get("notes", ""), actor=self.request.user)
        if data.get("hidden"):
            services.person_update(person=person, actor=self.request.user, hidden=True)
        serializer.instance = self.get_queryset().model.objects.annotate(face_count=Count("faces")).get(pk=person.pk)

    def perform_update(self, serializer: PersonSerializer) -> None:  # type: ignore[override]
        data = serializer.validated_data
        with transaction.atomic():
            # Lock the row: a DELETE racing this edit either waits for it or wins, and then the
            # edit is a 404 (an UPDATE of a vanished row would be a 500 "did not affect any rows").
            person = Person.objects.select_for_update().filter(pk=serializer.instance.pk).first()  # type: ignore[union-attr]
            if person is None:
                raise NotFound("No such person.")
            services.person_update(
                person=person, actor=self.request.user,
                name=data.get("name"), notes=data.get("notes"), hidden=data.get("hidden"),
            )  # fmt: skip

    def perform_destroy(self, instance: Person) -> None:
        services.person_delete(person=instance, actor=self.request.user)

    @extend_schema(
        request=MergeSerializer,
        responses=EventSerializer,
        description="Merge this person into `into`; undo via the event.",
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = get_object_or_404(active_people(), pk=data.validated_data["into"])
        try:
            event = services.person_merge(source=source, target=target, actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(EventSerializer(event).data)

    @extend_schema(responses=FaceSerializer(many=True))
    @action(detail=True, methods=["get"])
    def faces(self, request: Request, pk: str) -> Response:
        person = self.get_object()
        page = self.paginate_queryset(person.faces.select_related("person").order_by("id"))
        return self.get_paginated_response(FaceSerializer(page, many=True, context={"request": request}).data)


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit log of people edits (staff); merges and renames can be undone."""

    serializer_class = EventSerializer
    permission_classes = [IsAdminUser]
    queryset = PeopleEvent.objects.all()

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        try:
            event = services.event_undo(event=self.get_object(), actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(EventSerializer(event).data)


class SuggestionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clustering suggestions (staff): groups of unknown faces to name, people to merge."""

    queryset = Suggestion.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = SuggestionSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self) -> QuerySet[Suggestion]:
        return Suggestion.objects.filter(status=SuggestionStatus.OPEN).select_related("person_a", "person_b")

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Clustering queued")})
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        run = services.clustering_create(actor=request.user)
        return Response({"clustering": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=NameSerializer, responses=PersonSerializer, description="Create a person from this group.")
    @action(detail=True, methods=["post"], url_path="name")
    def accept(self, request: Request, pk: str) -> Response:
        data = NameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            person = services.suggestion_name(
                suggestion=self.get_object(), name=data.validated_data["name"], actor=request.user
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        person = active_people().annotate(face_count=Count("faces")).get(pk=person.pk)
        return Response(PersonSerializer(person).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        services.suggestion_dismiss(suggestion=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        try:
            event = services.suggestion_merge(suggestion=self.get_object(), actor=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return Response(EventSerializer(event).data)
