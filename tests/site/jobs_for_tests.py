"""Jobs used only by the foundation tests: they write to the real database from a worker."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def create_user(username: str) -> int:
    return get_user_model().objects.create_user(username).pk
