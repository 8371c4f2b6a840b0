"""DRF conventions shared by every API view: one error format and capped pagination.

Kept apart from ``accounts/api.py`` because settings name these by string and DRF imports them
while it is still initialising (importing views from here would be circular).
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import fields, parsers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


MAX_JSON_DEPTH = 32  # our deepest body (a render's params) is 3 levels; deep nesting is an attack


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH` with a 400.

    Python's decoder recurses per level: ~1,000 levels raise ``RecursionError``, which would be a
    500 on any JSON endpoint, anonymously.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.") from None
        pending, depth = [(data, 1)], 0
        while pending:
            value, depth = pending.pop()
            if depth > MAX_JSON_DEPTH:
                raise ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
            children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            pending.extend((child, depth + 1) for child in children)
        return data


class StrictCharField(fields.CharField):
    """Text must be a JSON string: DRF's CharField would turn ``{"name": 5}`` into a person named "5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictFloatField(fields.FloatField):
    """A number must be a JSON number: DRF's FloatField takes ``true`` as 1.0."""

    default_error_messages = {"invalid": "A number is required (not true/false)."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100  # a larger ?page_size= is capped, not refused


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Wrap every API error as ``{"error": {"code", "message", "fields"?}}``.

    ``code`` is stable for clients to branch on; ``message`` is for people; ``fields`` maps a
    field name to its messages for validation errors. A Django ``ValidationError`` raised by a
    service is a 400 like a serializer's: its field names are kept, a message without one is a
    ``non_field_errors`` message. Views therefore call services without converting errors.
    """
    from django.core.exceptions import ValidationError as DjangoValidationError
    from rest_framework.exceptions import ValidationError
    from rest_framework.views import exception_handler as drf_exception_handler

    from nstsite.errors import BadInput

    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, BadInput):
        exc = ValidationError([str(exc)])

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    codes = exc.get_codes() if hasattr(exc, "get_codes") else None
    error: dict[str, Any]
    if isinstance(detail, dict) and "detail" not in detail:
        error = {"code": "invalid", "message": "Some fields are not valid.", "fields": detail}
        non_field = detail.get("non_field_errors")
        if non_field:
            error["message"] = " ".join(str(m) for m in non_field)
    elif isinstance(detail, list):
        error = {"code": "invalid", "message": " ".join(str(m) for m in detail)}
    else:
        message = detail.get("detail", detail) if isinstance(detail, dict) else detail
        code = codes.get("detail", "error") if isinstance(codes, dict) else (codes or "error")
        error = {"code": str(code), "message": str(message)}
    wait = getattr(exc, "wait", None)
    if wait is not None:
        error["retry_after_seconds"] = int(wait + 0.999)
    response.data = {"error": error}
    return response


class FailOpen(SimpleRateThrottle):
    """A rate limit that lets requests through (and logs) when its counters' cache is unreachable.

    The counters live in Redis. When Redis blinks, refusing or failing every API request would turn
    a queue outage into a whole-site outage; for a short while an unthrottled API is the lesser harm.
    """

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend's own errors (redis ConnectionError, timeouts, ...)
            log.warning("rate limit %s not applied: the cache is unreachable", self.scope, exc_info=True)
            return True


class AnonThrottle(FailOpen, AnonRateThrottle):
    pass


class UserThrottle(FailOpen, UserRateThrottle):
    pass


class ScopedThrottle(FailOpen, ScopedRateThrottle):
    pass


class UploadThrottle(FailOpen, UserRateThrottle):
    """Uploads per user (``THROTTLE_UPLOAD``), on top of the general rate; used by every upload endpoint."""

    scope = "upload"
