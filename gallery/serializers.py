"""API representations. Serializers validate and represent; services do the saving."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from gallery import options
from gallery.models import Photo, Render, RenderMethod, Style
from gallery.progress import RenderProgress, renders_progress, status_text
from nstsite.rest import StrictCharField, StrictFloatField


def _url(request: Any, name: str, pk: int) -> str:
    path = reverse(name, args=[pk])
    return request.build_absolute_uri(path) if request else path


class PhotoSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = ["id", "original_name", "width", "height", "taken_at", "created", "image_url", "thumbnail_url"]
        read_only_fields = fields

    def get_image_url(self, photo: Photo) -> str:
        return _url(self.context.get("request"), "gallery:photo-file", photo.pk)

    def get_thumbnail_url(self, photo: Photo) -> str:
        return _url(self.context.get("request"), "gallery:photo-thumb", photo.pk)


class PhotoUploadSerializer(serializers.Serializer):
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), help_text="One or more JPEG, PNG, WebP or HEIC files."
    )


class PhotoUploadResultSerializer(serializers.Serializer):
    photo = PhotoSerializer()
    duplicate = serializers.BooleanField(help_text="True when this file was already in the gallery.")
    notice = StrictCharField(help_text="e.g. that a photo above the pixel limit was scaled down; may be empty.")


class StyleSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()
    is_global = serializers.BooleanField(read_only=True)

    class Meta:
        model = Style
        fields = ["id", "kind", "name", "preset_id", "is_global", "thumbnail_url", "created"]
        read_only_fields = fields

    def get_thumbnail_url(self, style: Style) -> str | None:
        if not style.thumbnail:
            return None
        return _url(self.context.get("request"), "gallery:style-thumb", style.pk)


class StyleUploadSerializer(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="A painting or any picture (JPEG, PNG, WebP).")
    name = StrictCharField(max_length=120, required=False, allow_blank=True)


class BlendItemSerializer(serializers.Serializer):
    # The serializer metaclass moves declared fields off the class, so this does not clash with
    # Field.style (the stubs do not model that).
    style = serializers.IntegerField(help_text="A style id (see /styles/).")  # type: ignore[assignment]
    weight = StrictFloatField(default=1.0, min_value=0.0, max_value=1000.0, help_text="Relative weight, 0..1000.")


@extend_schema_field(options.json_schema())
class RenderParamsField(serializers.DictField):
    """The method's options; checked by ``gallery.options.parse`` (the web form uses the same function)."""


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Blend of two presets",
            value={
                "photo": 1,
                "method": "preset",
                "styles": [{"style": 3, "weight": 0.7}, {"style": 9, "weight": 0.3}],
                "params": {"strength": 0.9, "preserve_color": False},
            },
            request_only=True,
        ),
        OpenApiExample(
            "Gatys, draft quality",
            value={"photo": 1, "method": "gatys", "styles": [{"style": 30}], "params": {"quality": "draft", "seed": 7}},
            request_only=True,
        ),
    ]
)
class RenderCreateSerializer(serializers.Serializer):
    photo = serializers.IntegerField()
    method = serializers.ChoiceField(choices=RenderMethod.choices)
    styles: serializers.ListSerializer[dict[str, Any]] = serializers.ListSerializer(
        child=BlendItemSerializer(),
        allow_empty=False,
        max_length=options.MAX_BLEND,
        help_text=f"1 to {options.MAX_BLEND} styles, each once.",
    )
    params = RenderParamsField(
        required=False,
        default=dict,
        help_text="preset/arbitrary/fast: strength (0..1), preserve_color, max_side. gatys: quality "
        "(draft|standard|best), network (mobilenet-v2, the offline default | vgg19), size, iterations, "
        "content_weight, style_weight, tv_weight, optimizer (lbfgs|adam), init (content|noise|style), "
        "pooling (max|avg; vgg19 only), color (none|luminance|histogram), style_scale, content_layers, "
        "style_layers (the network's own layer names), layer_preset (gatys|fine|coarse|deep-weighted), seed.",
    )


class RenderSerializer(serializers.ModelSerializer):
    styles = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    result_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField(help_text="1 = next to start; null unless queued")
    eta_seconds = serializers.SerializerMethodField(help_text="estimated seconds until finished; null once finished")
    status_label = StrictCharField(source="get_status_display", help_text="Queued, Running, Finished, …")
    status_text = serializers.SerializerMethodField(
        help_text="where it stands, as the pages say it: place in line, percent done, time left"
    )
    method_label = StrictCharField(help_text="the method as this render ran it (Gatys: with its quality)")

    class Meta:
        model = Render
        fields = [
            "id",
            "photo",
            "method",
            "styles",
            "params",
            "status",
            "status_label",
            "status_text",
            "method_label",
            "progress",
            "iteration",
            "error",
            "notice",
            "estimated_seconds",
            "queue_position",
            "eta_seconds",
            "device",
            "seed",
            "width",
            "height",
            "queued_at",
            "started_at",
            "finished_at",
            "status_url",
            "result_url",
            "preview_url",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Render) -> dict[str, Any]:
        # A row written before the options were checked may hold NaN or an infinity (a blend weight,
        # an estimate); JSON has no such numbers, so they come out as null instead of a 500 for the list.
        return _finite(super().to_representation(instance))

    def get_styles(self, render: Render) -> list[dict[str, Any]]:
        return [
            {"style": rs.style_id, "name": rs.style.name if rs.style else None, "weight": rs.weight}
            for rs in render.blend.all()
        ]

    def get_status_url(self, render: Render) -> str:
        return _url(self.context.get("request"), "api-render-detail", render.pk)

    def get_result_url(self, render: Render) -> str | None:
        return _url(self.context.get("request"), "gallery:render-file", render.pk) if render.result else None

    def _progress(self, render: Render) -> RenderProgress | None:
        # Computed once per response for every render it holds (a list page is one query, not N).
        context = cast("dict[str, Any]", self.context)  # the root serializer's own dict: shared by all rows
        if "progress" not in context:
            renders = self.instance if isinstance(self.instance, Iterable) else [render]
            if self.parent is not None and isinstance(self.parent.instance, Iterable):
                renders = self.parent.instance
            context["progress"] = renders_progress(renders=list(renders))
        return context["progress"].get(render.pk)

    def get_queue_position(self, render: Render) -> int | None:
        progress = self._progress(render)
        return progress.position if progress else None

    def get_eta_seconds(self, render: Render) -> float | None:
        progress = self._progress(render)
        return round(progress.eta_seconds, 1) if progress else None

    def get_status_text(self, render: Render) -> str:
        return status_text(render, self._progress(render))

    def get_preview_url(self, render: Render) -> str | None:
        return _url(self.context.get("request"), "gallery:render-preview", render.pk) if render.preview else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
