"""Accounts: sign-up, log-in, password change and reset, profile."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_up_creates_the_account_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert response.context["user"].username == "newbie"
    assert "Welcome, newbie" in response.content.decode()


def test_sign_up_with_a_taken_username_shows_a_form_error(client, user):
    response = client.post(
        "/accounts/signup/",
        {"username": user.username, "email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()
    assert get_user_model().objects.filter(username=user.username).count() == 1


@pytest.mark.parametrize("weak", ["password", "12345678", "short"])
def test_sign_up_with_a_weak_password_shows_a_form_error(client, weak):
    response = client.post(
        "/accounts/signup/", {"username": "weakling", "email": "w@example.com", "password1": weak, "password2": weak}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    assert not get_user_model().objects.filter(username="weakling").exists()


def test_log_in_and_log_out(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.context["user"].is_authenticated
    response = client.post("/accounts/logout/", follow=True)
    assert not response.context["user"].is_authenticated


def test_a_wrong_password_does_not_log_in(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated


def test_password_change(client, user):
    client.force_login(user)
    new = "another-Strong-pass-9"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Your password was changed." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_sends_a_working_link(client, user):
    client.post("/accounts/password_reset/", {"email": user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    new = "reset-Strong-pass-7"
    response = client.post(response.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True)
    assert "Password set" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(new)


def test_profile_page_edits_the_profile(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/profile/", {"first_name": "Alice", "last_name": "A", "email": user.email, "save_profile": "1"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Alice"


def test_profile_requires_log_in(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
