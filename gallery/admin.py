from __future__ import annotations

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from gallery import services
from gallery.models import Photo, Render, RenderStyle, Style


def _thumb(url: str) -> str:
    return format_html('<img src="{}" style="height:64px;border-radius:4px" loading="lazy">', url)


class OwnersPicturesAdmin(admin.ModelAdmin):
    """Rows and metadata for staff; the pictures themselves only to their owner.

    The thumbnails load from the same owner-checked URLs the site uses, so a staff member sees
    their own pictures (and the site's preset paintings) and a "private" note for everyone else's.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        mine = Q(owner_id=request.user.pk)
        if self.model is Style:
            mine |= Q(owner__isnull=True)
        return super().get_queryset(request).annotate(viewer_owns=ExpressionWrapper(mine, output_field=BooleanField()))

    def picture(self, obj: Photo | Render | Style, url_name: str, present: bool) -> str:
        if not present:
            return "-"
        if not getattr(obj, "viewer_owns", False):
            return "private"
        return _thumb(reverse(url_name, args=[obj.pk]))


@admin.register(Photo)
class PhotoAdmin(OwnersPicturesAdmin):
    list_display = ["id", "thumb", "original_name", "owner", "width", "height", "taken_at", "created"]
    list_filter = ["created", "taken_at"]
    search_fields = ["original_name", "owner__username", "content_hash"]
    readonly_fields = ["thumb", "width", "height", "content_hash", "taken_at", "created"]
    fields = ["owner", "original_name", "thumb", "width", "height", "content_hash", "taken_at", "created"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created"

    @admin.display(description="Image")
    def thumb(self, photo: Photo) -> str:
        return self.picture(photo, "gallery:photo-thumb", bool(photo.thumbnail))

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        services.photo_delete(photo=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        # The bulk action deletes rows without Model.delete(): go through the service for the files.
        for photo in queryset:
            services.photo_delete(photo=photo)


class RenderStyleInline(admin.TabularInline):
    model = RenderStyle
    extra = 0
    raw_id_fields = ["style"]


@admin.register(Render)
class RenderAdmin(OwnersPicturesAdmin):
    list_display = ["id", "thumb", "owner", "photo", "method", "status", "progress", "device", "created"]
    list_filter = ["status", "method", "created"]
    search_fields = ["owner__username", "error", "photo__original_name"]
    raw_id_fields = ["owner", "photo"]
    readonly_fields = ["thumb", "queued_at", "started_at", "finished_at", "heartbeat_at", "worker_name"]
    inlines = [RenderStyleInline]

    @admin.display(description="Result")
    def thumb(self, render: Render) -> str:
        return self.picture(render, "gallery:render-preview", bool(render.preview))

    def delete_model(self, request: HttpRequest, obj: Render) -> None:
        services.render_delete(render=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Render]) -> None:
        for render in queryset:
            services.render_delete(render=render)


@admin.register(Style)
class StyleAdmin(OwnersPicturesAdmin):
    list_display = ["id", "thumb", "name", "kind", "owner", "preset_id", "created"]
    list_filter = ["kind"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]

    @admin.display(description="Thumbnail")
    def thumb(self, style: Style) -> str:
        return self.picture(style, "gallery:style-thumb", bool(style.thumbnail))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Style]) -> None:
        for style in queryset:
            services.style_delete(style=style)
