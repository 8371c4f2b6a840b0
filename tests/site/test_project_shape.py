"""The project's seams: settings start nothing, and apps plug their queues into nstsite's workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from nstsite.apps import queue_apps, required_queues
from tests.conftest import ROOT


def test_importing_the_settings_starts_no_service(tmp_path: Path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["NSTSITE_VAR_DIR"] = str(var)
    code = "import json, config.settings as s; print(json.dumps([s.DATABASES['default']['HOST'], s.REDIS_URL]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    host, redis_url = json.loads(out.stdout)
    assert not var.exists()  # no embedded PostgreSQL or Redis was started under it
    assert str(var) not in host and str(var) not in redis_url


def test_every_queue_is_taken_by_exactly_one_app():
    apps = {app.label: app for app in queue_apps()}
    assert set(apps) == {"gallery", "faces"}
    taken = [queue for app in apps.values() for queue in app.worker_queues]
    assert sorted(taken) == sorted(settings.RQ_QUEUES)  # each queue once, none unknown
    # Quick style work has a worker of its own; the slow worker takes Gatys and labs.
    assert apps["gallery"].worker_groups == (("style",), ("style-slow", "gatys-vgg19"))
    assert set(required_queues()) == {"style", "style-slow", "faces"}  # gatys-vgg19 needs downloaded weights: optional
