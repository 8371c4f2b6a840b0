"""Fault injection against the real product (``manage.py runstack`` on its own embedded services).

PostgreSQL is killed with jobs queued, then Redis is killed around an upload. The launcher must
keep web up and start both servers again; every affected row must end "succeeded" or "failed"
with a reason within a bounded time; asking again (a rescan) must work; the API never answers 5xx.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TOKEN = "fault-monitor"
BOUND = 120  # seconds within which every affected row must be final


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 64), (seed * 40 % 256, (90 + seed) % 256, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _wait(predicate: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.var = tmp / "var"
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update({
            "NSTSITE_VAR_DIR": str(self.var), "NSTSITE_TESTING": "0", "PORT": str(self.port),
            "MEDIA_ROOT": str(tmp / "media"), "HEALTHZ_TOKEN": TOKEN, "WORKER_WARMUP": "false",
            # Fast clocks for the test: workers do not wait for the database (they burn through jobs,
            # as before the fix), and the launcher reconciles every 3 s after a 2 s grace.
            "WORKER_DB_WAIT_SECONDS": "0", "RECONCILE_EVERY_SECONDS": "3", "RECONCILE_GRACE_SECONDS": "2",
            "THROTTLE_UPLOAD": "100000/hour", "THROTTLE_USER": "100000/min",
        })  # fmt: skip
        self.log = (tmp / "runstack.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runstack"], env=self.env, stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def health(self) -> dict[str, Any]:
        response = requests.get(f"{self.base}/healthz", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        return response.json()

    def token(self) -> str:
        env = {**self.env, "DATABASE_URL": "", "REDIS_URL": ""}  # join the stack's embedded services
        code = (
            "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token;"
            "u, _ = get_user_model().objects.get_or_create(username='fault');"
            "print(Token.objects.get_or_create(user=u)[0].key)"
        )
        out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], env=env,
                             capture_output=True, text=True, check=True, timeout=120).stdout  # fmt: skip
        return out.strip().splitlines()[-1]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        return Path(self.log.name).read_text()[-3000:]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        _wait(lambda: running.health().get("status") == "ok", 240, "a healthy stack")
        yield running
    finally:
        running.stop()
        leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
        for pid in leftovers:  # only what this test started, found by its own temporary path
            os.kill(int(pid), signal.SIGKILL)


def _api(stack: Stack, token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    original = session.request

    def checked(method: str, url: str, **kwargs: Any) -> requests.Response:
        response = original(method, stack.base + url, timeout=60, **kwargs)
        assert response.status_code < 500, f"{method} {url} -> {response.status_code} {response.text[:300]}"
        return response

    session.request = checked  # type: ignore[method-assign]
    return session


def _scans_final(api: requests.Session) -> list[dict[str, Any]] | None:
    scans = api.get("/api/v1/scans/?page_size=100").json()["results"]
    if all(s["status"] in ("succeeded", "failed") for s in scans):
        assert all(s["error"] for s in scans if s["status"] == "failed"), scans  # every failure says why
        return scans
    return None


def test_postgres_and_redis_dying_lose_nothing_and_the_site_stays_up(stack: Stack):
    api = _api(stack, stack.token())

    # 1. PostgreSQL dies with scans queued: kill -9 the postmaster right after a batch upload.
    files = [("images", (f"p{i}.png", _png(i), "image/png")) for i in range(6)]
    uploaded = api.post("/api/v1/photos/", files=files).json()
    photo_ids = [item["photo"]["id"] for item in uploaded]
    postmaster = int((stack.var / "postgres" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    _wait(lambda: stack.health()["database"]["ok"], 60, "the launcher to start PostgreSQL again")
    scans = _wait(lambda: _scans_final(api), BOUND, "every scan to be final after PostgreSQL came back")
    assert {s["photo"] for s in scans} >= set(photo_ids)
    rescan = api.post("/api/v1/identify/", json={"photo": photo_ids[0]})
    assert rescan.status_code == 202
    _wait(lambda: api.get(f"/api/v1/scans/{rescan.json()['id']}/").json()["status"] == "succeeded", 60, "a rescan")

    # 2. Redis dies around an upload: the upload is saved, the API answers, Redis comes back.
    redis_pid = int((stack.var / "redis" / "redis.pid").read_text().strip())
    os.kill(redis_pid, signal.SIGKILL)
    during = api.post("/api/v1/photos/", files=[("images", ("during.png", _png(99), "image/png"))])
    assert during.status_code == 201
    assert api.get("/api/v1/photos/").status_code == 200
    _wait(lambda: stack.health()["redis"]["ok"], 60, "the launcher to start Redis again")
    _wait(lambda: stack.health()["status"] == "ok", 120, "workers back on every queue")
    photo = during.json()[0]["photo"]["id"]
    again = api.post("/api/v1/identify/", json={"photo": photo})  # "press Retry"
    assert again.status_code == 202
    _wait(lambda: api.get(f"/api/v1/scans/{again.json()['id']}/").json()["status"] == "succeeded", 60, "the retry")
    assert _wait(lambda: _scans_final(api), BOUND, "every scan to be final after Redis came back")
    assert json.dumps(stack.health())  # the site is healthy and still answering
