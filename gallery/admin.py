from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from gallery import services
from gallery.models import Photo, Render, RenderStyle, Style


def _thumb(url: str) -> str:
    return format_html('<img src="{}" style="height:64px;border-radius:4px" loading="lazy">', url)


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "original_name", "owner", "width", "height", "taken_at", "created"]
    list_filter = ["created", "taken_at"]
    search_fields = ["original_name", "owner__username", "content_hash"]
    readonly_fields = ["preview", "width", "height", "content_hash", "taken_at", "created"]
    fields = ["owner", "original_name", "preview", "width", "height", "content_hash", "taken_at", "created"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created"

    @admin.display(description="Image")
    def preview(self, photo: Photo) -> str:
        # Staff view files through the owner-checked URL only if they own them; the admin shows
        # the stored thumbnail through a staff-only path instead.
        return _thumb(reverse("admin-media", args=["photo", photo.pk])) if photo.thumbnail else "-"

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
class RenderAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "owner", "photo", "method", "status", "progress", "device", "created"]
    list_filter = ["status", "method", "created"]
    search_fields = ["owner__username", "error", "photo__original_name"]
    raw_id_fields = ["owner", "photo"]
    readonly_fields = ["preview", "queued_at", "started_at", "finished_at", "heartbeat_at", "worker_name"]
    inlines = [RenderStyleInline]

    @admin.display(description="Result")
    def preview(self, render: Render) -> str:
        return _thumb(reverse("admin-media", args=["render", render.pk])) if render.result else "-"

    def delete_model(self, request: HttpRequest, obj: Render) -> None:
        services.render_delete(render=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Render]) -> None:
        for render in queryset:
            services.render_delete(render=render)


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "name", "kind", "owner", "preset_id", "created"]
    list_filter = ["kind"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]

    @admin.display(description="Thumbnail")
    def preview(self, style: Style) -> str:
        return _thumb(reverse("admin-media", args=["style", style.pk])) if style.thumbnail else "-"

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Style]) -> None:
        for style in queryset:
            services.style_delete(style=style)
