"""The site's URLs plus one view that fails, to see the 500 page a user gets."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler403, handler404, handler500, urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [path("test-failure/", fail), *urlpatterns]
__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
