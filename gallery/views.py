from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    return render(request, "gallery/home.html")


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    return render(request, "gallery/home.html")
