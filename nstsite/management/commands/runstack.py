"""``python manage.py runstack``: the whole product in one terminal (what ``make run`` calls).

Database and Redis: whatever ``DATABASE_URL``/``REDIS_URL`` name, else the embedded servers
under ``var/`` (started by ``manage.py``, see ``nstsite/embedded.py``). Then migrations, an admin
account on first run, each app's start-up jobs, the web server and one worker per app that has
queues (``nstsite.apps.QueueAppConfig``). Children run in their own
sessions so Ctrl-C reaches only this process, which then stops them in order: web first, then
workers (they put an interrupted job back on the queue), then Redis and PostgreSQL.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from nstsite import embedded
from nstsite.apps import queue_apps
from nstsite.embedded import var_dir


class Backoff:
    """Exponential back-off per name: 1 s after the first failure, doubling up to 60 s."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.not_before: dict[str, float] = {}
        self.since: dict[str, float] = {}

    def failed(self, name: str) -> float:
        count = self.failures.get(name, 0)
        self.failures[name] = count + 1
        self.since.pop(name, None)
        delay = float(min(60, 2**count))
        self.not_before[name] = time.monotonic() + delay
        return delay

    def healthy(self, name: str, *, after: float) -> None:
        """Forget the failures once ``name`` has stayed up for ``after`` seconds."""
        start = self.since.setdefault(name, time.monotonic())
        if time.monotonic() - start >= after:
            self.failures.pop(name, None)

    def due(self, name: str) -> bool:
        return time.monotonic() >= self.not_before.get(name, 0.0)


class Command(BaseCommand):
    help = "Run the web server and the workers (and the embedded services unless configured)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--threads", type=int, default=8, help="web server threads")

    def handle(self, *args: Any, host: str, port: int, threads: int, **options: Any) -> None:
        lock = self._single_instance_lock()
        self._prepare()
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.web_args = (host, port, threads)
        self.redis_dir = embedded.embedded_redis_dir()
        self.postgres_dir = embedded.embedded_postgres_dir()
        try:
            self._start("web", self._web_command(host, port, threads))
            for app in queue_apps():
                for group in app.worker_groups:
                    self._start(f"worker-{group[0]}", self._worker_command(group))
            self.stdout.write(f"Starting nstsite at http://{host}:{port}/ …")
            self._supervise()
        finally:
            self._stop_all()
            lock.close()

    # --- start-up ----------------------------------------------------------------------------

    def _single_instance_lock(self) -> Any:
        path = var_dir() / "run.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            raise CommandError(
                f"nstsite is already running (pid {pid}). Stop it with Ctrl-C in its terminal, "
                "or open http://127.0.0.1:8000/ to use it."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def _prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._ensure_admin()
        self._enqueue_startup_jobs()

    def _ensure_admin(self) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "admin@localhost", password)
        line = "=" * 64
        self.stdout.write(
            self.style.WARNING(
                f"{line}\nCreated the first admin account (shown only this once):\n"
                f"  username: admin\n  password: {password}\n"
                f"Change it at /accounts/password_change/ after logging in.\n{line}"
            )
        )

    def _enqueue_startup_jobs(self) -> None:
        for app in queue_apps():
            app.enqueue_startup_jobs()

    def _web_command(self, host: str, port: int, threads: int) -> list[str]:
        return [
            sys.executable, "-m", "waitress", f"--host={host}", f"--port={port}", f"--threads={threads}",
            "--ident=nstsite", "config.wsgi:application",
        ]  # fmt: skip

    def _worker_command(self, queues: tuple[str, ...]) -> list[str]:
        """One worker on ``queues``, first first (a queue it cannot serve it drops and says so)."""
        return [
            sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "rqworker", *queues,
            "--worker-class", "nstsite.worker.WarmWorker", "--name", f"{queues[0]}-{os.getpid()}-{secrets.token_hex(3)}",
        ]  # fmt: skip

    # --- supervision -------------------------------------------------------------------------

    def _start(self, name: str, command: list[str]) -> None:
        self.children[name] = subprocess.Popen(command, start_new_session=True, env=os.environ.copy())
        self.stdout.write(f"started {name} (pid {self.children[name].pid})")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _sweep(self) -> None:
        """Make the job rows and the queue agree (see ``nstsite.jobs.reconcile``); never fatal."""
        from django.db import close_old_connections

        from nstsite.jobs import reap_all_stale, reconcile

        try:
            close_old_connections()
            reap_all_stale()
            counts = reconcile()
            if any(counts.values()):
                self.stderr.write(f"reconciled queued jobs with the queue: {counts}")
        except Exception as exc:  # noqa: BLE001 - a service blinking must not stop the launcher
            self.stderr.write(f"could not reconcile jobs now ({type(exc).__name__}); trying again later")

    def _web_ready(self) -> bool:
        """Whether /healthz answers 200 (the database and Redis reachable): only then is the
        address worth printing — the web server takes several seconds to import and listen."""
        host, port, _ = self.web_args
        address = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a wildcard: ask loopback
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, ValueError):
            return False

    def _supervise(self) -> None:
        """Keep every part running: restart what exits, with back-off, and never give up on the rest.

        A dependency blinking (Redis restarted, PostgreSQL crashed) makes workers exit; tearing the
        whole product down then would turn a blip into an outage. So web and workers are restarted
        with exponential back-off (1 s doubling to 60 s), the embedded PostgreSQL and Redis are
        checked every few seconds and started again, and only Ctrl-C stops the stack.
        """
        backoff = Backoff()
        next_sweep = time.monotonic() + settings.RECONCILE_EVERY_SECONDS
        next_services = time.monotonic()
        pending: dict[str, float] = {}  # child name -> when to start it again
        announced = False
        while not self.stopping:
            time.sleep(0.5)
            if not announced and self._web_ready():
                host, port, _ = self.web_args
                self.stdout.write(self.style.SUCCESS(f"nstsite is running at http://{host}:{port}/  (Ctrl-C stops it)"))
                self.stdout.flush()  # piped output (a log, `tee`) is block-buffered otherwise
                announced = True
            now = time.monotonic()
            if now >= next_services:
                self._check_services(backoff)
                next_services = now + 2
            for name, process in list(self.children.items()):
                if self.stopping or name in pending:
                    continue
                code = process.poll()
                if code is None:
                    backoff.healthy(name, after=60)
                    continue
                delay = backoff.failed(name)
                self.stderr.write(f"{name} exited with code {code}; restarting it in {delay:.0f} s")
                pending[name] = now + delay
            for name, when in list(pending.items()):
                if now >= when and not self.stopping:
                    del pending[name]
                    self._start(name, self._command_for(name))
            if now >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + settings.RECONCILE_EVERY_SECONDS

    def _command_for(self, name: str) -> list[str]:
        if name == "web":
            return self._web_command(*self.web_args)
        group = next(g for app in queue_apps() for g in app.worker_groups if f"worker-{g[0]}" == name)
        return self._worker_command(group)

    def _check_services(self, backoff: Backoff) -> None:
        """Start the embedded Redis/PostgreSQL again if they died (external ones are not ours to start)."""
        checks = []
        if self.redis_dir is not None:
            checks.append(("redis", lambda d=self.redis_dir: embedded.redis_ensure(d)))
        if self.postgres_dir is not None:
            checks.append(("postgres", lambda d=self.postgres_dir: embedded.postgres_ensure(d)))
        for name, ensure in checks:
            if not backoff.due(name):
                continue
            try:
                if ensure():
                    self.stderr.write(f"the embedded {name} had stopped; started it again")
                    backoff.failed(name)
                else:
                    backoff.healthy(name, after=0)
            except Exception as exc:  # noqa: BLE001 - keep trying; web and workers stay up meanwhile
                delay = backoff.failed(name)
                self.stderr.write(f"could not start the embedded {name} ({exc}); trying again in {delay:.0f} s")

    def _stop_all(self) -> None:
        self.stdout.write("stopping…")
        web = self.children.pop("web", None)
        if web is not None and web.poll() is None:
            web.terminate()
            _wait(web, 10)
        workers = [p for p in self.children.values() if p.poll() is None]
        # First SIGINT: finish or hand back the current job; a second one stops at once.
        for process in workers:
            process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(p.poll() is None for p in workers):
            time.sleep(0.1)
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in workers:
            _wait(process, 10)
        self.stdout.write("stopped.")


def _wait(process: subprocess.Popen[bytes], seconds: float) -> None:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
