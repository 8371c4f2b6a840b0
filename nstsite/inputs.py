"""One way to read ids and numbers from query strings and forms, and the checks every request gets.

``str.isdigit()`` is true for "²" and "١", which ``int()`` then refuses or reads as another number,
and PostgreSQL refuses text containing NUL. So views never parse ``request.GET``/``request.POST``
themselves: they call :func:`optional_id` / :func:`id_list`, which accept ASCII digits only and
raise :class:`BadInput` (a 400 with a message, as a page or as the API's JSON error) otherwise.
:class:`InputHygieneMiddleware` refuses NUL and other control characters in any query string or
form field before a view runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase, QueryDict

from nstsite.errors import BadInput, bad_request

MAX_ID = 2**63 - 1  # PostgreSQL bigint
_DIGITS = re.compile(r"[0-9]{1,19}")
# C0 controls except tab, newline and carriage return (text areas send those), and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_id(value: str, name: str) -> int:
    """``value`` as a database id, or :class:`BadInput` naming the parameter."""
    if not _DIGITS.fullmatch(value) or not 0 < int(value) <= MAX_ID:
        raise BadInput(f"“{name}” must be a positive whole number (digits 0-9), not {value[:20]!r}.")
    return int(value)


def optional_id(data: QueryDict, name: str) -> int | None:
    """The id in ``data[name]``; ``None`` when the parameter is absent or empty."""
    value = data.get(name, "")
    return parse_id(value, name) if value != "" else None


def id_list(data: QueryDict, name: str) -> list[int]:
    """Every id given as ``name`` (``?person=1&person=2``), empty values skipped, sorted, unique."""
    return sorted({parse_id(value, name) for value in data.getlist(name) if value != ""})


def has_control_characters(data: QueryDict) -> str:
    """The first parameter name whose name or value holds a control character ("" when none)."""
    for key, values in data.lists():
        if _CONTROL.search(key) or any(_CONTROL.search(value) for value in values):
            return _CONTROL.sub("?", key)
    return ""


class InputHygieneMiddleware:
    """Refuse NUL and other control characters in query strings and url-encoded forms with a 400.

    Multipart forms and JSON bodies are checked where they are parsed (Django form fields and DRF
    serializer fields refuse NUL themselves); reading a multipart body here would defeat the
    upload views' own memory limits.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: object, args: object, kwargs: object) -> HttpResponseBase | None:
        bad = has_control_characters(request.GET)
        if not bad and request.content_type == "application/x-www-form-urlencoded":
            bad = has_control_characters(request.POST)
        if bad:
            message = f"“{bad}” contains a control character (such as NUL); remove it and try again."
            return bad_request(request, message=message)
        return None
