"""A stopped embedded Redis is not a dead one: no second server on the same socket and files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import PATIENCE, ROOT

# One child process holds the server (as `make run` does), so this test's own process never becomes
# a holder of it and the child's exit stops it.
HOLD = """
import sys, time
from pathlib import Path
from nstsite import embedded
print(embedded.redis_url(Path(sys.argv[1])), flush=True)
time.sleep(3600)
"""


def _servers(sock: Path) -> list[int]:
    """Pids of processes started with this socket on their command line."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(sock).encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_stopped_redis_is_waited_for_not_replaced(tmp_path: Path):
    from nstsite import embedded

    data = tmp_path / "redis"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(data)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("unix://")
        (server,) = _servers(data / "redis.sock")
        os.kill(server, signal.SIGSTOP)  # frozen: alive, but not answering
        try:
            assert not embedded._redis_answers(data / "redis.sock")
            assert embedded.redis_ensure(data) is False  # the launcher's health check: leave it alone
            assert _servers(data / "redis.sock") == [server]
        finally:
            os.kill(server, signal.SIGCONT)
        deadline = time.monotonic() + PATIENCE
        while not embedded._redis_answers(data / "redis.sock") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert embedded._redis_answers(data / "redis.sock")  # the same server, answering again
        # A server that is really gone is started again, on the same socket.
        os.kill(server, signal.SIGKILL)
        deadline = time.monotonic() + PATIENCE
        while server in _servers(data / "redis.sock") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert embedded.redis_ensure(data) is True
        (restarted,) = _servers(data / "redis.sock")
        assert restarted != server and embedded._redis_answers(data / "redis.sock")
        os.kill(restarted, signal.SIGTERM)
    finally:
        holder.kill()
        holder.wait()
