"""Account workflows that reach across apps."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction


def account_delete(*, user: AbstractBaseUser, password: str) -> None:
    """Erase a user and everything they uploaded: photos, renders, styles, faces, crops, tokens.

    One cascade from the user row; every app erases a row's files when the row goes, after the
    commit (``nstsite.files.erase_files_with_rows``). Staff accounts are refused: their enrollments belong to the people database, so
    another admin removes them in the admin, deciding what to keep.
    """
    if not user.check_password(password):
        raise ValidationError({"password": "The password is not right."})
    if getattr(user, "is_staff", False):
        raise ValidationError("Staff accounts are removed by another admin, who decides what happens to enrollments.")
    with transaction.atomic():
        user.delete()
