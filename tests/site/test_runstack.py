"""`make run`'s launcher: the whole product on embedded services, one instance at a time, clean stop."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PATIENCE, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HEALTHZ_TOKEN = "monitor-secret-for-tests"  # a test value


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_runstack_serves_a_healthy_site_refuses_a_second_copy_and_stops_cleanly(tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"NSTSITE_VAR_DIR": str(tmp_path / "var"), "NSTSITE_TESTING": "0", "PORT": str(port),
                "MEDIA_ROOT": str(tmp_path / "media"), "HEALTHZ_TOKEN": HEALTHZ_TOKEN})  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py"), "runstack"]
    stack = subprocess.Popen(manage, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        # The address is printed only once the whole stack answers: at that moment /healthz is 200.
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and not any("is running at" in line for line in lines):
            ready, _, _ = select.select([stack.stdout], [], [], 1.0)
            if ready:
                lines.append(stack.stdout.readline())
            assert stack.poll() is None, "".join(lines)
        assert any(f"is running at http://127.0.0.1:{port}/" in line for line in lines), "".join(lines)
        status, raw = _get(f"http://127.0.0.1:{port}/healthz")
        body = json.loads(raw)
        assert status == 200 and body.get("status") == "ok", body
        assert body["database"]["pgvector"] and body["redis"]["ok"]
        assert body["workers"]["workers"] == {"style": 1, "style-slow": 1, "faces": 1}
        assert _get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/api/schema/")[0] == 401  # for signed-in users only

        second = subprocess.run(manage, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0
        assert "already running" in second.stderr
    finally:
        stack.send_signal(signal.SIGINT)
        rest, _ = stack.communicate(timeout=120)
        output = "".join(lines) + rest
    assert stack.returncode == 0, output[-2000:]
    assert "username: admin" in output  # first run prints the admin password once
    assert "stopped." in output
    # Nothing of this stack is left running: its Redis and PostgreSQL stopped with it.
    # (the watcher of var/ checks every 2 s before it stops them and exits: give it a few rounds)
    deadline = time.monotonic() + PATIENCE
    while True:
        leftovers = subprocess.run(["pgrep", "-af", str(tmp_path)], capture_output=True, text=True).stdout
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert leftovers == ""
