from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.forms import LoginForm, ProfileForm, SignupForm
from nstsite.auth import AuthenticatedHttpRequest


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Upload a photo to get started.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and "save_profile" in request.POST and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    if request.method == "POST" and "revoke_token" in request.POST:
        Token.objects.filter(user=request.user).delete()
        messages.success(request, "API token revoked. Apps using it must sign in again.")
        return redirect("profile")
    if request.method == "POST" and "create_token" in request.POST:
        Token.objects.filter(user=request.user).delete()
        token = Token.objects.create(user=request.user)
        messages.success(request, f"New API token: {token.key} — copy it now; it replaces the old one.")
        return redirect("profile")
    has_token = Token.objects.filter(user=request.user).exists()
    return render(request, "registration/profile.html", {"form": form, "has_token": has_token})


@login_required
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.account_delete(user=request.user, password=request.POST.get("password", ""))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("profile")
        logout(request)
        messages.success(request, "Your account and everything in it have been deleted.")
        return redirect("home")
    return redirect("profile")


class PasswordChange(SuccessMessageMixin, auth_views.PasswordChangeView):
    success_url = reverse_lazy("profile")
    success_message = "Your password was changed."


class Login(auth_views.LoginView):
    """Django's log-in view with the lockout form; ``next`` is checked by Django (same host only)."""

    form_class = LoginForm
