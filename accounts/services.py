"""Account workflows that reach across apps."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from gallery import services as gallery


def account_delete(*, user: AbstractBaseUser, password: str) -> None:
    """Erase a user and everything they uploaded: photos, renders, styles, faces, crops, tokens.

    Gallery files go through the gallery's services; the faces app removes its files when its
    rows go. Staff accounts are refused: their enrollments belong to the people database, so
    another admin removes them in the admin, deciding what to keep.
    """
    if not user.check_password(password):
        raise ValidationError({"password": "The password is not right."})
    if getattr(user, "is_staff", False):
        raise ValidationError("Staff accounts are removed by another admin, who decides what happens to enrollments.")
    for photo in gallery.user_photos(user):
        gallery.photo_delete(photo=photo)
    for style in user.styles.all():  # type: ignore[attr-defined]
        gallery.style_delete(style=style)
    with transaction.atomic():
        user.delete()
