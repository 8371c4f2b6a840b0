"""Upload endpoint under load: requests/s and latency while the workers are busy.

Starts its own stack (``manage.py runstack``) on embedded services under ``var/bench/`` with the
upload throttles lifted, creates a user, keeps both workers busy (every upload also queues a face
scan, and large preset renders are queued alongside), then has N concurrent clients upload
distinct 1024×768 JPEGs through ``POST /api/v1/photos/``. The request path does no ML: it
validates, re-encodes, stores and enqueues. Prints one table row per concurrency level.

    .venv/bin/python bench/upload_bench.py [--clients 1 4 8] [--uploads 24]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765


def photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, 1024, dtype=np.float32)[None, :, None].repeat(768, 0).repeat(3, 2)
    noise = rng.normal(0, 25, size=(768, 1024, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def measure(url: str, headers: dict[str, str], payloads: list[bytes], clients: int) -> tuple[list[float], int, float]:
    """Upload every payload with ``clients`` concurrent sessions; returns latencies, errors, wall seconds."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    pending = list(range(len(payloads)))

    def client() -> None:
        nonlocal errors
        session = requests.Session()
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop()
            started = time.perf_counter()
            files = {"images": (f"p{i}.jpg", payloads[i], "image/jpeg")}
            response = session.post(url, headers=headers, files=files, timeout=120)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors += response.status_code != 201

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def manage(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--uploads", type=int, default=24, help="uploads per concurrency level")
    args = parser.parse_args()

    env = {**os.environ, "NSTSITE_VAR_DIR": str(ROOT / "var" / "bench"), "THROTTLE_UPLOAD": "1000000/hour",
           "THROTTLE_USER": "1000000/min", "PORT": str(PORT), "DEBUG": "true"}  # fmt: skip
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    stack = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "runstack"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(240):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the stack did not become healthy")
        env["DATABASE_URL"] = ""  # the shell joins the stack's embedded services
        token = manage("shell", "-c", (
            "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token;"
            "u, _ = get_user_model().objects.get_or_create(username='bench');"
            "print(Token.objects.get_or_create(user=u)[0].key)"), env=env).strip().splitlines()[-1]  # fmt: skip
        headers = {"Authorization": f"Token {token}"}
        # Busy workers: a few large preset renders on the style queue (faces get a scan per upload).
        busy = requests.post(
            f"{base}/api/v1/photos/", headers=headers, files={"images": ("busy.jpg", photo(1))}, timeout=60
        )
        photo_id = busy.json()[0]["photo"]["id"]
        styles = requests.get(f"{base}/api/v1/styles/?kind=preset", headers=headers, timeout=30).json()
        preset = styles["results"][0]["id"]
        for _ in range(6):
            requests.post(
                f"{base}/api/v1/renders/",
                headers=headers,
                timeout=30,
                json={
                    "photo": photo_id,
                    "method": "preset",
                    "styles": [{"style": preset}],
                    "params": {"max_side": 2048},
                },
            )

        print(f"{'clients':>7} {'uploads':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6}")
        seed = int(time.time())
        for clients in args.clients:
            payloads = [photo(seed + i) for i in range(args.uploads)]
            seed += args.uploads
            latencies, errors, wall = measure(f"{base}/api/v1/photos/", headers, payloads, clients)
            ms = sorted(x * 1000 for x in latencies)
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            print(
                f"{clients:>7} {len(ms):>7} {len(ms) / wall:>7.1f} {statistics.median(ms):>7.0f} {p95:>7.0f} "
                f"{ms[-1]:>7.0f} {errors:>6}"
            )
        queued = requests.get(f"{base}/healthz", timeout=30).json()
        print(f"workers during the run: {queued['workers']['workers']}")
    finally:
        stack.send_signal(signal.SIGINT)
        stack.wait(60)


if __name__ == "__main__":
    main()
