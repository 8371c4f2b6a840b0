"""Types for views that only signed-in users reach.

``request.user`` is typed ``User | AnonymousUser`` by the stubs; once ``@login_required`` (or DRF's
default ``IsAuthenticated`` permission) has let a request through, it is a ``User``, which mypy
cannot see. Nothing here changes what runs: ``AuthenticatedHttpRequest`` is Django's own
``HttpRequest`` at run time, and :func:`api_user` returns ``request.user`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

__all__ = ["AuthenticatedHttpRequest", "api_user"]

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request

    class AuthenticatedHttpRequest(HttpRequest):
        """The request a ``@login_required`` view receives (the pattern django-stubs documents)."""

        user: User

else:
    from django.http import HttpRequest as AuthenticatedHttpRequest


def api_user(request: Request) -> User:
    """``request.user`` of an API view behind ``IsAuthenticated`` (the default permission class)."""
    # A cast, not a check: the permission already refused anonymous requests with 401/403.
    return cast("User", request.user)
