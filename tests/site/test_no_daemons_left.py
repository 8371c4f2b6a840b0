"""No embedded server outlives the processes that use it, even ones that skip atexit (mypy, kill -9)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PATIENCE, ROOT


def _running(var: Path) -> list[str]:
    return subprocess.run(["pgrep", "-f", str(var)], capture_output=True, text=True).stdout.split()


@pytest.mark.slow
def test_servers_started_by_a_process_that_exits_without_cleanup_are_stopped(tmp_path: Path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # What a tool that skips atexit does (mypy did, when settings still started the servers): start them, os._exit().
    code = (
        "import os; from pathlib import Path; from nstsite import embedded; "
        f"embedded.configure_environment(Path({str(var)!r})); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
    assert (var / "postgres" / "postmaster.pid").exists()  # it really started them
    deadline = time.monotonic() + PATIENCE
    while _running(var) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _running(var) == []


@pytest.mark.slow
def test_a_manage_py_command_leaves_nothing_running(tmp_path: Path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"NSTSITE_VAR_DIR": str(var), "NSTSITE_TESTING": "0"})
    subprocess.run(
        [
            sys.executable,
            str(
                ROOT / "manage.py",
            ),
            "check",
        ],
        env=env,
        check=True,
        timeout=120,
    )
    deadline = time.monotonic() + PATIENCE
    while _running(var) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _running(var) == []
