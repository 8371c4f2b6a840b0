"""One safe way to follow a user-supplied ``next``: only to this site, never elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest) -> str:
    """The request's ``next`` (POST, then GET) if it points at this site, else ``""``.

    ``//evil.example``, ``https://evil.example/``, ``javascript:`` and backslash tricks are all
    refused by Django's own check; an open redirect would let a phishing link borrow our name.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else ""


def redirect_back(request: HttpRequest, default: str, *args: object) -> HttpResponseRedirect:
    """Redirect to a safe ``next``, else to ``default`` (a URL name or path, with ``args``)."""
    target = safe_next(request)
    return HttpResponseRedirect(target) if target else redirect(default, *args)
