"""Workers advertise what they can do; the web tier decides Gatys availability and estimates from them;
jobs are routed to queues only capable workers take."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from nstsite import capabilities
from tests.conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(user, testdata):  # type: ignore[no-untyped-def]
    from gallery import services

    data = (testdata / "style" / "content" / "tubingen.jpg").read_bytes()
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("tubingen.jpg", data, "image/jpeg"))
    return photo


@pytest.fixture
def painting(user, testdata):  # type: ignore[no-untyped-def]
    from gallery import services

    data = (testdata / "style" / "styles" / "starry_night.jpg").read_bytes()
    return services.style_create(owner=user, upload=SimpleUploadedFile("starry.jpg", data, "image/jpeg"))


def _gatys_request(photo, painting, **params):  # type: ignore[no-untyped-def]
    return {
        "photo": photo.pk,
        "method": "gatys",
        "styles": [{"style": painting.pk, "weight": 1}],
        "params": {"quality": "draft", "network": "vgg19", "size": 64, "iterations": 2, **params},
    }


def test_a_worker_advertises_its_device_networks_and_embedders_with_a_ttl(settings, no_live_workers) -> None:
    from nstsite.worker import capabilities_of

    settings.WORKER_CAPABILITY_TTL = 45
    record = capabilities_of("w-1", ["style", "gatys-vgg19", "faces"])
    capabilities.advertise(record)
    ttl = django_rq.get_connection("style").ttl(capabilities.KEY_PREFIX + "w-1")
    assert 0 < ttl <= 45
    (seen,) = capabilities.live()
    assert seen.worker == "w-1" and seen.device.startswith("cpu")
    assert seen.queues == ["style", "gatys-vgg19", "faces"]
    assert "vgg19" in seen.loss_networks and seen.loss_networks["vgg19"]["flops"] > 0  # random weights in tests
    assert "dlib-resnet-v1" in seen.embedders
    capabilities.withdraw("w-1")
    assert capabilities.live() == []


def test_without_a_live_worker_the_web_tier_refuses_gatys_and_says_why(
    user_api, photo, painting, no_live_workers
) -> None:
    response = user_api.post("/api/v1/renders/", _gatys_request(photo, painting), format="json")
    assert response.status_code == 400
    assert "No worker can run Gatys with VGG19 right now." in str(response.json())
    estimate = user_api.get("/api/v1/estimate/gatys/", {"photo": photo.pk, "quality": "draft", "network": "vgg19"})
    assert estimate.status_code == 400 and "No worker can run Gatys" in str(estimate.json())
    # A worker that takes only the feed-forward queue does not count either.
    capabilities.advertise(capabilities.Capabilities(worker="presets-only", queues=["style"], device="cpu (2 threads)"))
    assert user_api.post("/api/v1/renders/", _gatys_request(photo, painting), format="json").status_code == 400


def test_estimates_come_from_the_fastest_live_worker_not_the_web_host(user_api, photo, no_live_workers) -> None:
    slow = {"vgg19": {"flops": 5e10, "source": "render", "random_weights": False}}
    fast = {"vgg19": {"flops": 5e12, "source": "render", "random_weights": False}}
    capabilities.advertise(
        capabilities.Capabilities("cpu-host", ["gatys-vgg19"], "cpu (4 threads)", loss_networks=slow)
    )
    url = "/api/v1/estimate/gatys/"
    on_cpu = user_api.get(url, {"photo": photo.pk, "quality": "draft", "network": "vgg19"}).json()
    assert on_cpu["device"] == "cpu (4 threads)"
    capabilities.advertise(
        capabilities.Capabilities("gpu-host", ["gatys-vgg19"], "cuda (NVIDIA H200)", loss_networks=fast)
    )
    on_gpu = user_api.get(url, {"photo": photo.pk, "quality": "draft", "network": "vgg19"}).json()
    assert on_gpu["device"] == "cuda (NVIDIA H200)"
    assert on_gpu["seconds"] < on_cpu["seconds"]


def test_a_worker_without_vgg19_never_receives_a_vgg19_gatys_job(  # type: ignore[no-untyped-def]
    settings, user_api, photo, painting, queues, run_worker, tmp_path: Path
):
    from gallery.models import Render, Style, StyleKind
    from gallery.services import presets_sync

    settings.STYLE_GATYS_MAX_SECONDS = 10**6
    # The pytest burst worker (random VGG19 weights) is live, so the web tier accepts a VGG19 job.
    response = user_api.post("/api/v1/renders/", _gatys_request(photo, painting), format="json")
    assert response.status_code == 202, response.json()
    gatys = Render.objects.get(pk=response.json()["id"])
    assert queues["gatys-vgg19"].count == 1 and queues["style"].count == 0
    presets_sync()
    preset = Style.objects.filter(kind=StyleKind.PRESET).first()
    assert preset is not None
    response = user_api.post(
        "/api/v1/renders/",
        {"photo": photo.pk, "method": "preset", "styles": [{"style": preset.pk}], "params": {"max_side": 64}},
        format="json",
    )
    preset_render = Render.objects.get(pk=response.json()["id"])

    # A second host without VGG19 weights, started on every style queue, drains what it can and exits.
    empty = tmp_path / "no-weights"
    empty.mkdir()
    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STYLE_GATYS_RANDOM_WEIGHTS": "false",
        "NSTSITE_WEIGHTS_DIR": str(empty),
        "TORCH_HOME": str(empty),
        "WORKER_WARMUP": "false",
    }
    log = ARTIFACTS / "worker-without-vgg19.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        code = subprocess.call(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", "style", "gatys-vgg19", "--burst",
             "--worker-class", "nstsite.worker.WarmWorker"],
            env=env, stdout=output, stderr=subprocess.STDOUT, timeout=300,
        )  # fmt: skip
    assert code == 0, log.read_text()[-2000:]
    assert "not listening on queue gatys-vgg19: this worker has no VGG19 weights" in log.read_text()
    preset_render.refresh_from_db()
    gatys.refresh_from_db()
    assert preset_render.status == "succeeded", preset_render.error  # it did work...
    assert gatys.status == "queued" and queues["gatys-vgg19"].count == 1  # ...but never took the VGG19 job

    # A worker that has VGG19 (here: random weights, as the suite runs) takes it.
    run_worker("gatys-vgg19")
    gatys.refresh_from_db()
    assert gatys.status == "succeeded", gatys.error


def test_the_reconciler_puts_a_lost_vgg19_job_back_on_its_own_queue(user_api, photo, painting, queues, settings):
    from datetime import timedelta

    from gallery.models import Render
    from nstsite.jobs import reconcile

    settings.STYLE_GATYS_MAX_SECONDS = 10**6
    response = user_api.post("/api/v1/renders/", _gatys_request(photo, painting), format="json")
    assert response.status_code == 202, response.json()
    queues["gatys-vgg19"].empty()  # Redis lost the job
    assert reconcile(grace=timedelta(0))["requeued"] >= 1  # (the photo's face scan, emptied by the fixture, too)
    assert queues["gatys-vgg19"].count == 1 and queues["style"].count == 0
    assert Render.objects.get(pk=response.json()["id"]).status == "queued"
    assert reconcile(grace=timedelta(0)) == {"requeued": 0, "failed": 0}  # now it is there


def test_a_worker_keeps_its_own_throughput_best_probe_until_renders_replace_it(monkeypatch) -> None:
    from gallery import capacity

    monkeypatch.setattr(capacity, "_measured", {})
    capacity.record_throughput("mobilenet-v2", 50e9, source="guess")
    capacity.record_throughput("mobilenet-v2", 1.3e9, source="probe")  # measured beats a guess, even if lower
    assert capacity.measured_throughput("mobilenet-v2")["flops"] == 1.3e9
    capacity.record_throughput("mobilenet-v2", 10e9, source="probe")  # the machine settled
    capacity.record_throughput("mobilenet-v2", 4e9, source="probe")  # a busy moment never lowers it
    assert capacity.measured_throughput("mobilenet-v2") == {"flops": 10e9, "source": "probe", "runs": 0, "probes": 3}
    assert capacity.settle_throughputs() is False  # three probes: no more idle work
    capacity.record_throughput("mobilenet-v2", 8e9, source="render")
    capacity.record_throughput("mobilenet-v2", 20e9, source="probe")  # renders are the truth now
    capacity.record_throughput("mobilenet-v2", 6e9, source="render")
    measured = capacity.measured_throughput("mobilenet-v2")
    assert measured["source"] == "render" and measured["runs"] == 2 and measured["flops"] == 7e9


def test_an_idle_worker_wakes_for_idle_work_and_still_takes_the_next_job(queues, settings, monkeypatch) -> None:
    from nstsite import worker as worker_module
    from nstsite.worker import WarmWorker

    settings.WORKER_WARMUP, settings.WORKER_IDLE_SECONDS = True, 1
    queue = queues["style"]
    calls: list[int] = []

    def idle_work(names: list[str]) -> bool:
        calls.append(1)
        if len(calls) == 2:  # the second wake-up is the last: then a job arrives
            queue.enqueue("builtins.len", "abc")
        return len(calls) < 2

    monkeypatch.setattr(worker_module, "when_idle", idle_work)
    worker = WarmWorker([queue], connection=queue.connection, name="idle-probe-worker")
    try:
        job, taken_from = worker.dequeue_job_and_maintain_ttl(30)
    finally:
        capabilities.withdraw("idle-probe-worker")
    assert taken_from.name == "style" and job.func_name == "builtins.len"
    assert len(calls) == 2  # woke while idle work was due, stopped when none was, then took the job
