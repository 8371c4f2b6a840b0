"""Security headers Django does not set itself: Content-Security-Policy and Permissions-Policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    """Add ``CONTENT_SECURITY_POLICY`` and ``PERMISSIONS_POLICY`` to every response that has none.

    The policy allows scripts only from our own origin: no inline script or event handler
    anywhere in our templates (forms ask "are you sure?" through ``static/js/confirm.js``), so an
    injected ``<script>`` or ``onerror=`` cannot run even if some escaping were ever missed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
