"""Our own 403/404/500 pages, also in DEBUG mode for everyone but staff; staff-only pages refuse
normal users with our 403 page instead of the admin's log-in form.

Django shows its technical pages whenever ``DEBUG`` is on (the default of ``make run``): a 404
lists every URL pattern and a 500 shows settings and source. That is a developer's tool, so
:class:`BrandedErrorsMiddleware` keeps it for staff only and gives everyone else the same page
production shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

log = logging.getLogger(__name__)

TITLES = {
    400: "We could not read that request",
    403: "You can't open this page",
    404: "We can't find that page",
    500: "Something went wrong on our side",
}


STAFF_ONLY = "Staff only."


class BadInput(BadRequest):
    """A request parameter that is not what it must be; the message says which and why (a 400).

    Raised by :mod:`nstsite.inputs`; answered by :func:`bad_request`, as a page or as the API's JSON.
    """


def error_page(request: HttpRequest, status: int, *, staff_only: bool = False, message: str = "") -> HttpResponse:
    """The branded page for ``status``; a plain-text fallback if even the template fails."""
    context = {"status": status, "title": TITLES[status], "staff_only": staff_only, "message": message}
    try:
        body = loader.render_to_string(f"{status}.html", context, request)
    except Exception:
        log.exception("could not render the %s page", status)
        return HttpResponse(f"{status} {TITLES[status]}", status=status, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, status=status)


def api_error(status: int, message: str = "") -> JsonResponse:
    """The API's error body (``nstsite.rest.exception_handler``) for errors that happen outside DRF."""
    code = {400: "invalid", 404: "not_found", 500: "server_error"}.get(status, "error")
    return JsonResponse({"error": {"code": code, "message": message or TITLES[status] + "."}}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None, message: str = "") -> HttpResponse:
    """400: our page, or the API's JSON error under ``/api/``, saying what was wrong when we know."""
    if not message and isinstance(exception, BadInput):
        message = str(exception)
    if request.path.startswith("/api/"):
        return api_error(400, message)
    return error_page(request, 400, message=message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403, staff_only=str(exception) == STAFF_ONLY)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_page(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """An expired or missing form token: our 403 page says to reload, instead of Django's."""
    log.warning("CSRF failure on %s: %s", request.path, reason)
    return error_page(request, 403)


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


class BrandedErrorsMiddleware:
    """In DEBUG mode, swap Django's technical 400/404/500 pages for ours unless the user is staff.

    Without DEBUG, Django already calls the handlers in ``config/urls.py``; this does nothing.
    Our views never build a 400/404/500 HTML response themselves (they raise ``BadInput``,
    ``Http404`` or fail), so in DEBUG every HTML one that comes back here is one of Django's
    technical pages — settings, paths and source — which nobody but staff may see, under
    ``/api/`` (where it becomes the API's JSON error) as anywhere else. Django has logged the
    error already when it built the page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not settings.DEBUG or response.status_code not in (400, 404, 500) or _is_staff(request):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response  # DRF's own JSON errors
        if request.path.startswith("/api/"):
            return api_error(response.status_code)
        return error_page(request, response.status_code)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's :class:`BadInput`: our 400 with its message, DEBUG or not."""
        return bad_request(request, exception) if isinstance(exception, BadInput) else None


def staff_member_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like Django's decorator of that name, but visitors go to our log-in page and signed-in
    users who are not staff get our 403 page (never the "Django administration" log-in)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied(STAFF_ONLY)
        return view(request, *args, **kwargs)

    return wrapper


def admin_login(request: HttpRequest) -> HttpResponseBase:
    """Stands in for ``/admin/login/`` (django-rq's dashboard and the admin send people there)."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = ""
    target = target or resolve_url("admin:index")
    if request.user.is_authenticated:
        if not request.user.is_staff:
            raise PermissionDenied(STAFF_ONLY)
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': target})}")
