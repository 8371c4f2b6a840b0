"""Our own 404/403/500 pages (also with DEBUG on, except for staff) and staff pages that refuse
normal users with our page instead of the admin's log-in."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TECHNICAL_404 = b"Using the URLconf defined in"


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_our_404_for_visitors_and_users(client, user, settings, debug):
    settings.DEBUG = debug
    for who in (None, user):
        if who:
            client.force_login(who)
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert b"We can&#x27;t find that page" in response.content
        assert TECHNICAL_404 not in response.content and b"urlpatterns" not in response.content
        assert b'class="topbar"' in response.content  # the site's own layout, with its menu


def test_a_missing_object_is_our_404_in_debug_mode(client, user, settings):
    settings.DEBUG = True
    client.force_login(user)
    response = client.get("/photos/999999/")
    assert response.status_code == 404 and b"We can&#x27;t find that page" in response.content
    assert b"No Photo matches" not in response.content


def test_staff_still_get_the_technical_404_in_debug_mode(client, staff_user, settings):
    settings.DEBUG = True
    client.force_login(staff_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and TECHNICAL_404 in response.content


def test_the_api_keeps_its_json_404(user_api, settings):
    settings.DEBUG = True
    response = user_api.get("/api/v1/photos/999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("debug", [True, False])
def test_a_failing_view_shows_our_500_page(user, settings, debug):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = "tests.site.urls_with_errors"
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/test-failure/", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"a bug in a view" not in response.content and b"Traceback" not in response.content


def test_staff_pages_refuse_normal_users_with_our_403_page(client, user):
    client.force_login(user)
    for url in ("/faces/directory/", "/faces/thresholds/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"for the site's staff only" in response.content
        assert b"Django administration" not in response.content


def test_the_admin_and_job_dashboard_refuse_normal_users_with_our_page(client, user):
    client.force_login(user)
    for url in ("/admin/", "/admin/rq/"):
        response = client.get(url, follow=True)
        assert response.status_code == 403, url
        assert b"for the site's staff only" in response.content
        assert b"Django administration" not in response.content


def test_visitors_to_a_staff_page_go_to_our_log_in_page(client):
    response = client.get("/faces/directory/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=")
    assert b"Django administration" not in response.content


def test_the_admin_log_in_sends_staff_on_and_ignores_foreign_next(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/login/?next=/admin/rq/")["Location"] == "/admin/rq/"


def test_a_stale_form_token_gets_our_403_page(user, settings):
    settings.DEBUG = True
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/upload/", {})
    assert response.status_code == 403
    assert b"reload the page and try again" in response.content and b"CSRF verification failed" not in response.content
