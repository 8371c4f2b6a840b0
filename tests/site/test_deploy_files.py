"""The deployment files: compose.yaml is a valid Compose file with the services docs/deploy.md
describes, and the Dockerfile installs the way the Makefile does.

`docker compose config` is not available on the project's test machines, so compose.yaml is
checked against the Compose Specification's JSON schema (vendored in tests/site/data/).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # safe_load resolves the `<<:` merges


def _errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert _errors(compose) == []


def test_the_schema_check_rejects_a_malformed_gpu_reservation(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"] = "nvidia"
    broken["services"]["web"]["ports"] = {"8000": 8000}
    errors = _errors(broken)
    assert any("worker-gpu/deploy" in e for e in errors)
    assert any("web/ports" in e for e in errors)


def test_compose_runs_every_tier_on_shared_services_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"web", "db", "redis", "minio", "worker-cpu", "worker-gpu"} <= set(services)
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    for name in ("web", "worker-cpu", "worker-gpu", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["AWS_STORAGE_BUCKET_NAME"] and env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        # No media volume: the only mount is the weights folder, so each service can live on its own host.
        assert [v.split(":")[1] for v in services[name].get("volumes", [])] == ["/data/weights"]


def test_compose_workers_run_the_warm_worker_and_the_gpu_one_reserves_a_gpu(compose: dict[str, Any]) -> None:
    services = compose["services"]
    taken: set[str] = set()
    for name in ("worker-cpu", "worker-cpu-slow", "worker-gpu"):
        command = services[name]["command"]
        assert command[:3] == ["python", "manage.py", "rqworker"]
        assert command[command.index("--worker-class") + 1] == "nstsite.worker.WarmWorker"
        taken |= set(command[3 : command.index("--worker-class")])
    assert taken == set(settings.RQ_QUEUES)  # every queue has a worker
    # Slow style work has a CPU worker of its own: quick jobs never queue behind it.
    assert "style-slow" not in services["worker-cpu"]["command"]
    gpu = services["worker-gpu"]
    assert gpu["build"]["args"]["TORCH"] == "cuda"
    assert gpu["environment"]["NSTSITE_DEVICE"] == "cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert services["worker-cpu"]["environment"]["NSTSITE_DEVICE"] == "cpu"


def test_dockerfile_installs_like_the_makefile_and_runs_as_an_ordinary_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "install -r requirements.txt" in makefile and "--no-deps -r requirements-nodeps.txt" in makefile
    plain = dockerfile.index("pip install -r requirements.txt")
    assert dockerfile.index("pip install --no-deps -r requirements-nodeps.txt") > plain
    assert re.search(r"^ARG TORCH=cpu$", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "var/"} <= set(ignored)
