"""REST API for photos, styles and renders. Querysets start from request.user: others' ids are 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import options, services
from gallery.models import Photo, Render, Style
from gallery.serializers import (
    PhotoSerializer,
    PhotoUploadResultSerializer,
    PhotoUploadSerializer,
    RenderCreateSerializer,
    RenderSerializer,
    StyleSerializer,
    StyleUploadSerializer,
)
from nstsite.auth import api_user
from nstsite.inputs import optional_id
from nstsite.jobs import stale_after
from nstsite.models import ACTIVE
from nstsite.rest import JSONParser, UploadThrottle
from nstsite.uploads import UploadError


def _files(request: Request, *names: str) -> list[Any]:
    try:
        return [f for name in names for f in request.FILES.getlist(name)]
    except SuspiciousOperation as exc:  # e.g. more files than DATA_UPLOAD_MAX_NUMBER_FILES
        raise ParseError(f"The upload was refused: {exc}") from exc


class PhotoViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your photos. Upload several at once as multipart ``images``."""

    serializer_class = PhotoSerializer
    parser_classes = [MultiPartParser, JSONParser]

    def get_queryset(self) -> QuerySet[Photo]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Photo.objects.none()
        return services.user_photos(self.request.user)

    def get_throttles(self):
        return [*super().get_throttles(), UploadThrottle()] if self.action == "create" else super().get_throttles()

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={201: PhotoUploadResultSerializer(many=True), 400: None},
        description="All files are validated first; if any is refused, none is stored. A file already in "
        "your gallery comes back with duplicate=true (and status 200 if every file was a duplicate).",
    )
    def create(self, request: Request) -> Response:
        files = _files(request, "images", "image")
        try:
            results = services.photos_create(owner=request.user, uploads=files)
        except UploadError as exc:
            raise ValidationError({"images": [str(exc)]}) from exc
        data = [
            {
                "photo": PhotoSerializer(p, context={"request": request}).data,
                "duplicate": not new,
                "notice": p.upload_notice,
            }
            for p, new in results
        ]
        created = any(new for _, new in results)
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def perform_destroy(self, instance: Photo) -> None:
        services.photo_delete(photo=instance)


class StyleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The 26 built-in presets plus your own style images."""

    serializer_class = StyleSerializer
    parser_classes = [MultiPartParser, JSONParser]

    def get_queryset(self) -> QuerySet[Style]:
        if getattr(self, "swagger_fake_view", False):
            return Style.objects.none()
        if self.action == "destroy":
            return Style.objects.filter(owner=api_user(self.request))  # global presets cannot be deleted
        queryset = services.visible_styles(self.request.user)
        kind = self.request.query_params.get("kind")
        return queryset.filter(kind=kind) if kind else queryset

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=["preset", "image", "fast"])])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": StyleUploadSerializer}, responses={201: StyleSerializer})
    def create(self, request: Request) -> Response:
        files = _files(request, "image")
        if not files:
            raise ValidationError({"image": ["Attach a style image."]})
        # Files were attached, so this is a multipart body: ``data`` is a QueryDict (a dict), not a list.
        # The name goes through the serializer's field (length, no NUL); the files through _files.
        name = request.data.get("name", "") if isinstance(request.data, dict) else ""
        fields = StyleUploadSerializer(data={"name": name}, partial=True)
        fields.is_valid(raise_exception=True)
        try:
            style = services.style_create(
                owner=request.user, upload=files[0], name=fields.validated_data.get("name", "")
            )
        except UploadError as exc:
            raise ValidationError({"image": [str(exc)]}) from exc
        return Response(StyleSerializer(style, context={"request": request}).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Style) -> None:
        services.style_delete(style=instance)


class RenderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Styled results. Creating one queues a job: poll ``status_url`` until ``status`` is final."""

    serializer_class = RenderSerializer

    def get_queryset(self) -> QuerySet[Render]:
        if getattr(self, "swagger_fake_view", False):
            return Render.objects.none()
        queryset = Render.objects.filter(owner=api_user(self.request)).prefetch_related("blend__style")
        photo = optional_id(self.request.query_params, "photo")
        if self.request.query_params.get("active") in ("1", "true"):
            queryset = queryset.filter(status__in=ACTIVE)
        return queryset.filter(photo_id=photo) if photo is not None else queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("photo", int, description="only the renders of this photo"),
            OpenApiParameter("active", bool, description="only queued and running renders"),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Render.reap_stale(after=stale_after())
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        Render.reap_stale(after=stale_after())  # a dead worker's render turns failed when someone looks
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=RenderCreateSerializer, responses={202: RenderSerializer})
    def create(self, request: Request) -> Response:
        data = RenderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        photo = get_object_or_404(services.user_photos(request.user), pk=data.validated_data["photo"])
        styles = {
            s.pk: s
            for s in services.visible_styles(request.user).filter(
                pk__in=[i["style"] for i in data.validated_data["styles"]]
            )
        }
        missing = [i["style"] for i in data.validated_data["styles"] if i["style"] not in styles]
        if missing:
            raise ValidationError({"styles": [f"Unknown style id(s): {', '.join(map(str, missing))}."]})
        blend = [(styles[i["style"]], i["weight"]) for i in data.validated_data["styles"]]
        render = services.render_create(
            owner=request.user,
            photo=photo,
            method=data.validated_data["method"],
            blend=blend,
            params=data.validated_data["params"],
        )
        body = RenderSerializer(render, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})

    def perform_destroy(self, instance: Render) -> None:
        services.render_delete(render=instance)

    @extend_schema(request=None, responses={200: RenderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        render = self.get_object()
        services.render_cancel(render=render)
        render.refresh_from_db()
        return Response(RenderSerializer(render, context={"request": request}).data)

    @extend_schema(request=None, responses={202: RenderSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        render = services.render_retry(render=self.get_object())
        return Response(RenderSerializer(render, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class EstimateQuerySerializer(serializers.Serializer):
    photo = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class GatysEstimateView(APIView):
    """Predicted time and memory of a Gatys render of one of your photos (no model is run)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("photo", int, required=True),
            OpenApiParameter("quality", str),
            OpenApiParameter("size", int),
            OpenApiParameter("iterations", int),
            OpenApiParameter("network", str, description="mobilenet-v2 (default) or vgg19"),
        ],
        responses=inline_serializer(
            "GatysEstimate",
            {
                "seconds": serializers.FloatField(),
                "peak_mib": serializers.FloatField(),
                "size": serializers.IntegerField(),
                "device": serializers.CharField(),
                "notice": serializers.CharField(),
                "network": serializers.CharField(),
                "basis": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = EstimateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        photo = get_object_or_404(services.user_photos(request.user), pk=query.validated_data["photo"])
        wanted = (
            "quality",
            "size",
            "iterations",
            "optimizer",
            "network",
            "style_layers",
            "content_layers",
            "layer_preset",
        )
        raw = {k: v for k, v in request.query_params.items() if k in wanted}
        plan = services.gatys_plan(photo=photo, params=options.parse("gatys", raw))
        body: dict[str, Any] = {
            "seconds": round(plan.cost.seconds, 1),
            "peak_mib": round(plan.cost.peak_mib),
            "size": plan.params.size,
        }
        body.update(device=plan.device, notice=plan.notice, network=plan.params.network, basis=plan.basis)
        return Response(body)
