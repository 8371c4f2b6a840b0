"""Production settings pass Django's deployment checks; development ones do not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "x7Kp2vQ9mZr4Lw8Tn3Yb6Hc1Jd5Fg0Sa-not-a-real-key-but-long-enough",
    "ALLOWED_HOSTS": "photos.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://photos.example.com",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NSTSITE_TESTING": "1", **env}
    # Reuse the test session's services rather than starting new ones.
    full_env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    full_env["REDIS_URL"] = os.environ["REDIS_URL"]
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db
def test_check_deploy_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_check_deploy_fails_with_debug_on():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "DEBUG": "True"})
    assert result.returncode == 1
    assert "security.W018" in result.stderr


@pytest.mark.django_db
def test_the_development_secret_key_is_refused_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", **env, SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
