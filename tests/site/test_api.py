"""The API skeleton: token auth, errors, throttling, pagination, schema and docs."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_obtain_a_token_and_use_it(api_client, user):
    response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").json()["username"] == "alice"


def test_revoking_the_token_makes_it_useless(api_client, user):
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.delete("/api/v1/auth/token/").status_code == 204
    assert api_client.get("/api/v1/me/").status_code == 401


def test_wrong_credentials_give_a_400_in_the_error_format(api_client, user):
    response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "Unable to log in" in response.json()["error"]["message"]


def test_missing_fields_name_the_field(api_client):
    response = api_client.post("/api/v1/auth/token/", {"username": "alice"})
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


def test_no_token_gives_401(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_gives_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_basic_auth_is_not_accepted(api_client, user):
    import base64

    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert api_client.get("/api/v1/me/").status_code == 401


def test_the_token_endpoint_is_throttled_with_retry_after(api_client, user, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [
            api_client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"}).status_code for _ in range(4)
        ]
        response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"})
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes[:3] == [400, 400, 400]
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_a_page_size_over_the_maximum_is_capped():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from nstsite.rest import Pagination

    request = Request(APIRequestFactory().get("/", {"page_size": 10_000}))
    assert Pagination().get_page_size(request) == Pagination.max_page_size == 100


def test_the_openapi_schema_and_docs_are_for_signed_in_users(client, user):
    assert client.get("/api/schema/").status_code == 401
    assert client.get("/api/docs/")["Location"].startswith("/accounts/login/")
    client.force_login(user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in body["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_the_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate", "--fail-on-warn")
    schema = (tmp_path / "schema.yml").read_text()
    for path in ("/api/v1/photos/", "/api/v1/renders/", "/api/v1/styles/", "/api/v1/identify/", "/api/v1/verify/"):
        assert f"{path}:" in schema
    import re

    assert not re.search(r"^\s+embeddings?:\s*$", schema, re.MULTILINE)  # no field ever carries one


def test_session_posts_to_the_api_need_the_csrf_token_but_token_clients_do_not(user):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post("/api/v1/renders/", {}, format="json").status_code == 403
    mobile = APIClient(enforce_csrf_checks=True)
    mobile.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert mobile.post("/api/v1/renders/", {}, format="json").status_code == 400  # validated, not refused


def test_production_responses_carry_the_security_headers(settings, user):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()  # a new client builds its middleware from these settings
    assert client.get("/accounts/login/")["Location"].startswith("https://")
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.cookies["csrftoken"]["secure"]
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, secure=True)
    session = client.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


def test_every_operation_offers_only_the_bodies_it_parses(client, user):
    """JSON operations take JSON only (a generated client cannot send a nested body as a form);
    multipart appears only where a file is uploaded."""
    client.force_login(user)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    uploads = {"/api/v1/photos/", "/api/v1/styles/", "/api/v1/identify/", "/api/v1/verify/"}
    offered = {
        (path, method): set(operation["requestBody"]["content"])
        for path, operations in paths.items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    assert offered[("/api/v1/renders/", "post")] == {"application/json"}
    for (path, method), types in offered.items():
        assert "application/x-www-form-urlencoded" not in types, (path, method)
        if path not in uploads:
            assert types == {"application/json"}, (path, method, types)
