"""Sign-in lockout: wrong passwords per username and per address pause sign-in, with a clear message."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _web_login(client, username: str, password: str, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_web_form_locks_a_username_after_repeated_wrong_passwords(client, user, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_USER):
        assert _web_login(client, "alice", "wrong").status_code == 200
    response = _web_login(client, "alice", PASSWORD, ip="10.9.9.9")  # even the right password, from elsewhere
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_of_one_username_does_not_block_another(client, user, other_user, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_USER):
        _web_login(client, "alice", "wrong")
    response = _web_login(client, "mallory", PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302


def test_one_address_guessing_many_usernames_is_locked_out(client, user, settings):
    settings.LOGIN_FAILURES_PER_IP = 4
    for n in range(4):
        _web_login(client, f"nobody{n}", "wrong", ip="10.6.6.6")
    response = _web_login(client, "alice", PASSWORD, ip="10.6.6.6")
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert _web_login(client, "alice", PASSWORD, ip="10.0.0.7").status_code == 302


def test_a_right_password_before_the_limit_resets_the_count(client, user, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_USER - 1):
        _web_login(client, "alice", "wrong")
    assert _web_login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.LOGIN_FAILURES_PER_USER - 1):
        _web_login(client, "alice", "wrong")
    assert _web_login(client, "alice", PASSWORD).status_code == 302


def test_the_token_endpoint_shares_the_lockout_and_answers_429(api_client, client, user, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_USER):
        _web_login(client, "alice", "wrong")
    response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    body = response.json()["error"]
    assert "Too many failed sign-in attempts" in body["message"] and body["retry_after_seconds"] > 0
