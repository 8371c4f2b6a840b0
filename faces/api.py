"""REST API of the faces app (``/api/v1/``).

Identification and verification run models, so they are jobs: ``POST`` answers 202 with the
job's row and a ``status_url`` to poll. Users only ever see their own photos' faces and their own
people (plus the directory's names); their answers shape only their own results. The directory
(``/directory/``) is staff-only, and staff never get crops of faces on users' photos unless the
owner shared them. Embeddings never leave the server.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle
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
from faces.selectors import active_people, directory_people, people_of, user_uploads
from faces.serializers import (
    AssignSerializer,
    DirectoryFaceSerializer,
    EventSerializer,
    FaceSerializer,
    FaceSettingsSerializer,
    IdentifyRequestSerializer,
    LinkSerializer,
    MergeSerializer,
    MyPersonSerializer,
    NameSerializer,
    PersonSerializer,
    PhotoRefSerializer,
    ScanSerializer,
    ShareSerializer,
    SuggestionSerializer,
    UploadSerializer,
    VerificationSerializer,
    VerifyRequestSerializer,
)
from faces.services.uploads import scan_delete, upload_delete, verification_delete
from gallery.models import Photo
from nstsite.auth import api_user
from nstsite.files import serve
from nstsite.inputs import optional_id
from nstsite.jobs import stale_after
from nstsite.rest import JSONParser, UploadThrottle

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

    parser_classes = [MultiPartParser, JSONParser]

    def get_throttles(self) -> list[BaseThrottle]:
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
        user = api_user(request)
        photo = None
        if "photo" in data.validated_data:
            photo = Photo.objects.filter(pk=data.validated_data["photo"], owner=user).first()
            if photo is None:
                raise NotFound("No such photo.")
        try:
            scan = services.identification_create(owner=user, image=data.validated_data.get("image"), photo=photo)
        except services.RecognitionOff as exc:
            raise ValidationError({"non_field_errors": [exc.user_message]}) from exc
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
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        FaceScan.reap_stale(after=stale_after())  # a dead worker's scan turns failed when someone looks
        return super().retrieve(request, *args, **kwargs)

    def perform_destroy(self, instance: FaceScan) -> None:
        scan_delete(scan=instance)


class VerifyView(APIView):
    """Same person or not: two images/photos, or one against a person (staff). A job: 202."""

    parser_classes = [MultiPartParser, JSONParser]

    def get_throttles(self) -> list[BaseThrottle]:
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
        photos: dict[str, Photo] = {}
        for side in ("photo_a", "photo_b"):
            if side in v:
                photo = Photo.objects.filter(pk=v[side], owner=user).first()
                if photo is None:
                    raise NotFound("No such photo.")
                photos[side] = photo
        person = None
        if "person" in v:
            if not user.is_staff:
                raise NotFound("No such person.")
            person = get_object_or_404(directory_people(), pk=v["person"])
        verification = services.verification_request(
            owner=user,
            image_a=v.get("image_a"),
            photo_a=photos.get("photo_a"),
            image_b=v.get("image_b"),
            photo_b=photos.get("photo_b"),
            person=person,
        )
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

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Verification.reap_stale(after=stale_after())  # as for scans: pages poll here
        return super().retrieve(request, *args, **kwargs)

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


def _visible_person(request: Request, pk: int) -> Person:
    """A person the caller may name a face as; 404 with no name otherwise (no enumeration)."""
    person = active_people().visible_to(api_user(request)).filter(pk=pk).first()
    if person is None:
        raise NotFound("No such person.")
    return person


class FaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Faces on the calling user's photos; name, confirm, correct or reject them (your answers
    shape your results only), share one with the directory, fetch its crop."""

    queryset = Face.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = FaceSerializer

    def get_queryset(self) -> QuerySet[Face]:
        queryset = Face.objects.filter(owner=api_user(self.request)).select_related("person").order_by("-created", "id")
        photo = optional_id(self.request.query_params, "photo")
        if photo is not None:
            queryset = queryset.filter(photo_id=photo)
        person = optional_id(self.request.query_params, "person")
        if person is not None:
            queryset = queryset.filter(person_id=person)
        return queryset

    def _respond(self, face: Face) -> Response:
        face.refresh_from_db()
        return Response(FaceSerializer(face, context={"request": self.request}).data)

    @extend_schema(request=None, responses=FaceSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        services.face_confirm(face=face, actor=api_user(request))
        return self._respond(face)

    @extend_schema(request=None, responses=FaceSerializer, description="Not this person: remembered for good.")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        services.face_reject(face=face, actor=api_user(request))
        return self._respond(face)

    @extend_schema(
        request=AssignSerializer,
        responses={200: FaceSerializer, 404: OpenApiResponse(description="No such person (that you can see)")},
        description="Name this face: one of your people or a directory person by id, or by name (a new name "
        "creates one of your people). Only your own results change.",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "person" in data.validated_data:
            person = _visible_person(request, data.validated_data["person"])
            services.face_assign(face=face, person=person, actor=api_user(request))
        else:
            services.face_name(face=face, name=data.validated_data["name"], actor=api_user(request))
        return self._respond(face)

    @extend_schema(request=ShareSerializer, responses=FaceSerializer,
                   description="Offer this named face to the directory (consent; off by default), or withdraw it.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk: str) -> Response:
        face = self.get_object()
        data = ShareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.face_share(face=face, shared=data.validated_data["shared"], actor=api_user(request))
        return self._respond(face)

    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(description="The face crop (JPEG)")})
    @action(detail=True, methods=["get"])
    def crop(self, request: Request, pk: str) -> HttpResponseBase:
        return serve(self.get_object().crop)


class MyPeopleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your people (rename, hide, merge with undo, link to the directory, delete) and, by name only,
    the directory people you can name faces as. Deleting one of your people leaves the faces,
    unknown."""

    queryset = Person.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = MyPersonSerializer

    def get_queryset(self) -> QuerySet[Person]:
        user = api_user(self.request)
        own = people_of(user)
        if self.action in ("retrieve", "photos", "faces"):
            return active_people().visible_to(user).select_related("cover", "directory_person")
        return own

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = api_user(request)
        own = people_of(user)
        if request.query_params.get("hidden") != "1":
            own = own.filter(hidden=False)
        directory = list(directory_people().filter(hidden=False).order_by("name", "id"))
        people = sorted([*own, *directory], key=lambda p: (p.owner_id is None, p.name.lower(), p.pk))
        page = self.paginate_queryset(people)
        return self.get_paginated_response(MyPersonSerializer(page, many=True, context={"request": request}).data)

    def perform_update(self, serializer: BaseSerializer[Person]) -> None:
        data = serializer.validated_data
        person = serializer.instance
        if not isinstance(person, Person):  # an update always has its object (get_object)
            raise NotFound("No such person.")
        services.person_update(
            person=person, actor=api_user(self.request), name=data.get("name"), hidden=data.get("hidden")
        )

    def perform_destroy(self, instance: Person) -> None:
        services.person_delete(person=instance, actor=api_user(self.request))

    @extend_schema(request=MergeSerializer, responses=EventSerializer,
                   description="Merge this person into another of yours (`into`); undo via /people-history/.")  # fmt: skip
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = people_of(api_user(request)).filter(pk=data.validated_data["into"]).first()
        if target is None:
            raise NotFound("No such person.")
        event = services.person_merge(source=source, target=target, actor=api_user(request))
        return Response(EventSerializer(event).data)

    @extend_schema(request=LinkSerializer, responses=MyPersonSerializer,
                   description="Link this person to the directory person they are (only if their faces match).")  # fmt: skip
    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str) -> Response:
        person = self.get_object()
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = None
        if data.validated_data["directory_person"] is not None:
            target = directory_people().filter(hidden=False, pk=data.validated_data["directory_person"]).first()
            if target is None:
                raise NotFound("No such person.")
        services.person_link(person=person, directory_person=target, actor=api_user(request))
        return Response(MyPersonSerializer(people_of(api_user(request)).get(pk=person.pk),
                                           context={"request": request}).data)  # fmt: skip

    @extend_schema(responses=PhotoRefSerializer(many=True), description="Your photos this person is in.")
    @action(detail=True, methods=["get"])
    def photos(self, request: Request, pk: str) -> Response:
        from gallery.models import Photo

        person = self.get_object()
        user = api_user(request)
        photos = (
            Photo.objects.filter(owner=user, faces__person=person, faces__owner=user).distinct().order_by("-created")
        )
        page = self.paginate_queryset(photos)
        return self.get_paginated_response(PhotoRefSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(responses=FaceSerializer(many=True), description="Your faces named as this person.")
    @action(detail=True, methods=["get"])
    def faces(self, request: Request, pk: str) -> Response:
        person = self.get_object()
        faces = Face.objects.filter(owner=api_user(request), person=person).select_related("person").order_by("id")
        page = self.paginate_queryset(faces)
        return self.get_paginated_response(FaceSerializer(page, many=True, context={"request": request}).data)


class FaceSettingsView(APIView):
    """Your face-recognition setting. Turning it off erases every face embedding of yours."""

    @extend_schema(responses=FaceSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response({"recognition": services.recognition_enabled(user=api_user(request))})

    @extend_schema(request=FaceSettingsSerializer, responses=FaceSettingsSerializer)
    def put(self, request: Request) -> Response:
        data = FaceSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.recognition_set(user=api_user(request), enabled=data.validated_data["recognition"])
        return Response({"recognition": services.recognition_enabled(user=api_user(request))})


class PersonViewSet(viewsets.ModelViewSet):
    """The directory (staff only). Deleting a person unlinks users' faces (they become unknown)
    and erases the enrollment photos with their faces and embeddings."""

    queryset = Person.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = PersonSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self) -> QuerySet[Person]:
        queryset = directory_people().annotate(face_count=Count("faces", distinct=True)).order_by("name", "id")
        if self.request.query_params.get("hidden") != "1" and self.action == "list":
            queryset = queryset.filter(hidden=False)
        return queryset

    def perform_create(self, serializer: BaseSerializer[Person]) -> None:
        data = serializer.validated_data
        person = services.person_create(name=data["name"], notes=data.get("notes", ""), actor=api_user(self.request))
        if data.get("hidden"):
            services.person_update(person=person, actor=api_user(self.request), hidden=True)
        serializer.instance = self.get_queryset().model.objects.annotate(face_count=Count("faces")).get(pk=person.pk)

    def perform_update(self, serializer: BaseSerializer[Person]) -> None:
        data = serializer.validated_data
        with transaction.atomic():
            # Lock the row: a DELETE racing this edit either waits for it or wins, and then the
            # edit is a 404 (an UPDATE of a vanished row would be a 500 "did not affect any rows").
            instance = serializer.instance
            person = (
                Person.objects.select_for_update().filter(pk=instance.pk).first()
                if isinstance(instance, Person)
                else None
            )
            if person is None:
                raise NotFound("No such person.")
            services.person_update(
                person=person, actor=api_user(self.request),
                name=data.get("name"), notes=data.get("notes"), hidden=data.get("hidden"),
            )  # fmt: skip

    def perform_destroy(self, instance: Person) -> None:
        services.person_delete(person=instance, actor=api_user(self.request))

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
        target = get_object_or_404(directory_people(), pk=data.validated_data["into"])
        event = services.person_merge(source=source, target=target, actor=api_user(request))
        return Response(EventSerializer(event).data)

    @extend_schema(
        responses=FaceSerializer(many=True), description="The person's directory faces (enrolled or shared)."
    )
    @action(detail=True, methods=["get"])
    def faces(self, request: Request, pk: str) -> Response:
        person = self.get_object()
        faces = person.faces.filter(Q(upload__purpose=UploadPurpose.ENROLL) | Q(shared=True))
        page = self.paginate_queryset(faces.select_related("person").order_by("id"))
        return self.get_paginated_response(DirectoryFaceSerializer(page, many=True, context={"request": request}).data)


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit log of edits to your people and faces (staff: of the directory); merges, renames,
    namings and "not this person" can be undone."""

    serializer_class = EventSerializer
    queryset = PeopleEvent.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[PeopleEvent]:
        user = api_user(self.request)
        if user.is_staff and self.request.query_params.get("directory") == "1":
            return PeopleEvent.objects.filter(owner__isnull=True)
        return PeopleEvent.objects.filter(owner=user)

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str) -> Response:
        event = services.event_undo(event=self.get_object(), actor=api_user(request))
        return Response(EventSerializer(event).data)


class SuggestionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your "who is this?" groups of unknown faces and people to merge (staff with ``?directory=1``:
    the directory's)."""

    queryset = Suggestion.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = SuggestionSerializer

    def _directory(self) -> bool:
        return bool(api_user(self.request).is_staff and self.request.query_params.get("directory") == "1")

    def get_queryset(self) -> QuerySet[Suggestion]:
        scope = Q(owner__isnull=True) if self._directory() else Q(owner=api_user(self.request))
        return Suggestion.objects.filter(scope, status=SuggestionStatus.OPEN).select_related("person_a", "person_b")

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Clustering queued")})
    @action(detail=False, methods=["post"])
    def refresh(self, request: Request) -> Response:
        owner = None if self._directory() else api_user(request)
        run = services.clustering_create(actor=api_user(request), owner=owner)
        return Response({"clustering": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=NameSerializer, responses=MyPersonSerializer, description="Name this group (a new or existing person)."
    )
    @action(detail=True, methods=["post"], url_path="name")
    def accept(self, request: Request, pk: str) -> Response:
        data = NameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = services.suggestion_name(
            suggestion=self.get_object(), name=data.validated_data["name"], actor=api_user(request)
        )
        return Response(MyPersonSerializer(person, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        services.suggestion_dismiss(suggestion=self.get_object(), actor=api_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=EventSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        event = services.suggestion_merge(suggestion=self.get_object(), actor=api_user(request))
        return Response(EventSerializer(event).data)
