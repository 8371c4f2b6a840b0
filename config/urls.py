from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api
from gallery import views as gallery_views
from nstsite import errors, health

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("", include("gallery.api_urls")),
    path("", include("faces.api_urls")),
]

urlpatterns = [
    path("", gallery_views.home, name="home"),
    # Clients that ask for /favicon.ico without reading the page's <link rel="icon">.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", include("gallery.urls")),
    path("faces/", include("faces.urls")),
    path("accounts/", include("accounts.urls")),
    # The admin and django-rq send people without staff rights to the admin's log-in form; ours
    # answers instead: our log-in page for visitors, our 403 page for signed-in non-staff.
    path("admin/login/", errors.admin_login, name="admin-login"),
    path("admin/rq/", include("django_rq.urls")),  # django-rq's views are staff_member_required
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its set-up script as a file, so the docs work under our CSP (no inline script).
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
