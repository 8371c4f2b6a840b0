"""Renders end to end: real queue, real burst worker, real preset network and engines."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from PIL import Image

from gallery import services
from gallery.models import Photo, Render, Style, StyleKind
from nstsite.models import TaskStatus
from tests.conftest import PATIENCE, ROOT, advertise_burst_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(user, content_jpeg) -> Photo:
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("tubingen.jpg", content_jpeg, "image/jpeg"))
    return photo


@pytest.fixture
def presets() -> list[Style]:
    services.presets_sync()
    return list(Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id"))


@pytest.fixture(autouse=True)
def _generous_gatys_limit(settings):  # type: ignore[no-untyped-def]
    # The engine's estimate is pessimistic at tiny sizes; these tests use tiny sizes on purpose.
    settings.STYLE_GATYS_MAX_SECONDS = 10**6


@pytest.fixture
def painting(user, style_jpeg) -> Style:
    return services.style_create(owner=user, upload=SimpleUploadedFile("starry.jpg", style_jpeg, "image/jpeg"))


def pixels(field_or_bytes) -> np.ndarray:  # type: ignore[no-untyped-def]
    data = field_or_bytes if isinstance(field_or_bytes, bytes) else field_or_bytes.open("rb").read()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def test_a_preset_render_through_the_api_produces_a_different_image(user_api, photo, presets, queues, run_worker):
    response = user_api.post(
        "/api/v1/renders/",
        {"photo": photo.pk, "method": "preset", "styles": [{"style": presets[3].pk, "weight": 1}],
         "params": {"max_side": 384}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 202, response.json()
    assert response["Location"].endswith(f"/api/v1/renders/{response.json()['id']}/")
    assert response.json()["status"] == "queued"
    assert queues["style"].count >= 1
    run_worker("style")
    status = user_api.get(response["Location"]).json()
    assert status["status"] == "succeeded", status
    assert status["progress"] == 1.0 and status["device"].startswith("cpu")
    result = b"".join(user_api.get(status["result_url"]).streaming_content)
    styled = pixels(result)
    original = np.asarray(Image.open(photo.image.open("rb")).convert("RGB").resize(styled.shape[1::-1]), np.float32)
    assert max(styled.shape[:2]) == 384
    assert np.abs(styled - original).mean() > 20  # clearly repainted, not a copy
    download = user_api.get(status["result_url"] + "?download=1")
    assert "attachment" in download["Content-Disposition"]


def test_the_preset_thumbnails_are_drawn_by_a_job(queues, run_worker):
    services.presets_ensure_thumbnails()
    assert queues["style"].count == 1
    assert not Style.objects.filter(kind=StyleKind.PRESET).exclude(thumbnail="").exists()
    run_worker("style")
    thumbs = Style.objects.filter(kind=StyleKind.PRESET).exclude(thumbnail="")
    assert thumbs.count() == 26
    first, second = (pixels(s.thumbnail) for s in thumbs.order_by("preset_id")[:2])
    assert np.abs(first - second).mean() > 5  # each preset's thumbnail is its own


def test_a_blend_render_through_the_web_page(client, user, photo, presets, queues, run_worker):
    client.force_login(user)
    response = client.post(
        f"/photos/{photo.pk}/stylize/",
        {"method": "preset", f"weight_{presets[0].pk}": "0.5", f"weight_{presets[5].pk}": "0.5", "strength": "0.8",
         "max_side": "512"},
    )  # fmt: skip
    render = Render.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/renders/{render.pk}/"
    assert sorted(rs.style_id for rs in render.blend.all()) == sorted([presets[0].pk, presets[5].pk])
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED and render.result
    page = client.get(f"/renders/{render.pk}/").content.decode()
    assert 'id="compare-slider"' in page and f"/renders/{render.pk}/result" in page


def test_an_arbitrary_render_uses_the_painting(user_api, photo, painting, queues, run_worker):
    response = user_api.post(
        "/api/v1/renders/",
        {"photo": photo.pk, "method": "arbitrary", "styles": [{"style": painting.pk}], "params": {"max_side": 256}},
        format="json",
    )
    assert response.status_code == 202, response.json()
    run_worker("style")
    render = Render.objects.get()
    assert render.status == TaskStatus.SUCCEEDED, render.error
    assert max(render.width, render.height) == 256


BAD_REQUESTS = {
    "unknown style id": lambda p, s: {"photo": p, "method": "preset", "styles": [{"style": 999999}]},
    "negative blend weight": lambda p, s: {"photo": p, "method": "preset", "styles": [{"style": s, "weight": -1}]},
    "all weights zero": lambda p, s: {"photo": p, "method": "preset", "styles": [{"style": s, "weight": 0}]},
    "missing styles": lambda p, s: {"photo": p, "method": "preset"},
    "missing method": lambda p, s: {"photo": p, "styles": [{"style": s}]},
    "unknown method": lambda p, s: {"photo": p, "method": "magic", "styles": [{"style": s}]},
    "strength above 1": lambda p, s: {
        "photo": p,
        "method": "preset",
        "styles": [{"style": s}],
        "params": {"strength": 3},
    },
    "a preset for gatys": lambda p, s: {"photo": p, "method": "gatys", "styles": [{"style": s}]},
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_render_requests_get_a_clear_400_and_nothing_is_queued(user_api, photo, presets, queues, case):
    response = user_api.post("/api/v1/renders/", BAD_REQUESTS[case](photo.pk, presets[0].pk), format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid" and (error.get("fields") or error["message"])
    assert Render.objects.count() == 0
    assert queues["style"].count == 0


def test_a_gatys_render_reports_progress_and_can_be_cancelled(user, photo, painting, queues, run_worker):
    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "size": 96, "iterations": 2000, "optimizer": "adam"},
    )  # fmt: skip
    seen: list[tuple[str, float, int]] = []

    def watch_then_cancel() -> None:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            row = Render.objects.get(pk=render.pk)
            seen.append((row.status, row.progress, row.iteration))
            if row.status == TaskStatus.RUNNING and row.iteration >= 3:
                services.render_cancel(render=row)
                return
            time.sleep(0.1)

    def watch() -> None:
        try:
            watch_then_cancel()
        finally:
            connections.close_all()  # this thread's connection, or the test database cannot be dropped

    watcher = threading.Thread(target=watch)
    watcher.start()
    run_worker("style")
    watcher.join()
    render.refresh_from_db()
    assert render.status == TaskStatus.CANCELLED
    assert not render.result
    assert any(status == "running" and it >= 3 and 0 < progress < 1 for status, progress, it in seen)
    assert render.iteration < 2000  # stopped long before its end


def test_a_gatys_render_runs_on_the_offline_network_by_default_and_measures_its_speed(
    client, user, photo, painting, queues, run_worker
):
    from gallery import capacity

    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "size": 64, "iterations": 6, "seed": 5},
    )  # fmt: skip
    assert render.params["network"] == "mobilenet-v2"
    before = capacity.measured_throughput("mobilenet-v2") or {"runs": 0}
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED, render.error
    assert max(render.width, render.height) == 64
    assert "random" not in render.device  # MobileNet-v2's real weights ship offline
    assert render.seed == 5
    measured = capacity.measured_throughput("mobilenet-v2")  # the burst worker runs in this process
    assert measured is not None and measured["source"] == "render" and measured["flops"] > 0
    assert measured["runs"] == before["runs"] + 1
    client.force_login(user)
    page = client.get(f"/renders/{render.pk}/")  # its page, with the re-run form, shows
    assert page.status_code == 200 and "on mobilenet-v2" in page.content.decode()


def _advertise_burst_worker() -> None:
    """Advertise the burst worker again, with what this process can run now."""
    from nstsite.capabilities import advertise
    from nstsite.worker import capabilities_of
    from tests.conftest import BURST_WORKER, QUEUES

    advertise(capabilities_of(BURST_WORKER, list(QUEUES)))


def test_a_gatys_render_on_vgg19_labels_random_weights(user, photo, painting, queues, run_worker):
    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "network": "vgg19", "size": 64, "iterations": 3},
    )  # fmt: skip
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED, render.error
    assert render.params["network"] == "vgg19" and "random VGG weights" in render.device


def test_vgg19_layer_names_are_refused_on_mobilenet_with_the_valid_names(user_api, photo, painting, queues):
    body = {"photo": photo.pk, "method": "gatys", "styles": [{"style": painting.pk}],
            "params": {"style_layers": "conv1_1,conv2_1"}}  # fmt: skip
    response = user_api.post("/api/v1/renders/", body, format="json")
    assert response.status_code == 400
    message = str(response.json()["error"])
    assert "mobilenet-v2" in message and "expanded_conv_10/expand" in message
    body["params"] = {"network": "vgg19", "style_layers": "conv1_1,conv2_1", "pooling": "avg"}
    assert user_api.post("/api/v1/renders/", body, format="json").status_code == 202
    body["params"] = {"network": "mobilenet-v2", "pooling": "avg"}
    assert user_api.post("/api/v1/renders/", body, format="json").status_code == 400


def test_vgg19_without_its_weights_is_refused_without_showing_server_paths(
    user_api, photo, painting, queues, settings, tmp_path, monkeypatch
):
    settings.STYLE_GATYS_RANDOM_WEIGHTS = False
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    _advertise_burst_worker()  # now without VGG19
    body = {"photo": photo.pk, "method": "gatys", "styles": [{"style": painting.pk}], "params": {"network": "vgg19"}}
    response = user_api.post("/api/v1/renders/", body, format="json")
    assert response.status_code == 400
    message = str(response.json()["error"])
    assert "No worker can run Gatys with VGG19" in message and "/" not in message.replace("mobilenet-v2", "")
    assert Render.objects.count() == 0


def test_the_gatys_estimate_uses_the_throughput_the_worker_advertised(user, photo, painting, queues):
    from gallery import options
    from ml.style.estimate import estimate

    params = {"quality": "draft", "size": 128}
    planned = options.gatys_params(options.parse("gatys", params))
    seconds = []
    for flops in (1e9, 4e9):
        advertise_burst_worker(gatys_flops=flops)
        render = services.render_create(owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)], params=params)
        assert render.estimated_seconds == pytest.approx(
            estimate(planned, (photo.width, photo.height), flops=flops).seconds
        )
        seconds.append(render.estimated_seconds)
    assert seconds[0] == pytest.approx(4 * seconds[1])  # four times the speed, a quarter of the time


def test_a_gatys_render_too_big_for_the_worker_is_downscaled_with_a_notice(user, photo, painting, settings, queues):
    from gallery import options
    from ml.style.estimate import estimate

    flops = 2e9  # what the worker advertises, whatever this machine's speed
    advertise_burst_worker(gatys_flops=flops)
    best = options.gatys_params(options.parse("gatys", {"quality": "best"}))
    full = estimate(best, (photo.width, photo.height), flops=flops)
    settings.STYLE_GATYS_MAX_SECONDS = int(full.seconds / 4)
    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)], params={"quality": "best"}
    )
    assert render.params["size"] < best.size
    assert "Reduced to" in render.notice
    assert render.estimated_seconds <= settings.STYLE_GATYS_MAX_SECONDS


def test_a_failed_render_can_be_retried(user_api, user, photo, presets, queues, run_worker):
    render = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[1], 1.0)])
    Render.fail(render.pk, "The worker processing this stopped unexpectedly.")
    queues["style"].empty()
    response = user_api.post(f"/api/v1/renders/{render.pk}/retry/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED and render.error == ""


def test_redis_down_at_enqueue_fails_the_render_but_keeps_the_photo(user, photo, presets, settings):
    import django_rq

    from nstsite import jobs

    original = django_rq.get_queue

    def unreachable(name: str):  # type: ignore[no-untyped-def]
        from redis import Redis
        from rq import Queue

        return Queue(name, connection=Redis(unix_socket_path="/nonexistent/redis.sock"))

    django_rq.get_queue = unreachable
    try:
        render = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)])
    finally:
        django_rq.get_queue = original
    render.refresh_from_db()
    assert render.status == TaskStatus.FAILED and render.error == jobs.QUEUE_DOWN
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_a_worker_killed_mid_render_leaves_the_render_failed_with_a_reason(user, photo, painting, queues, settings):
    settings.TASK_STALE_SECONDS = 3
    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "size": 96, "iterations": 2000, "optimizer": "adam"},
    )  # fmt: skip
    from django.db import connection

    # The worker process must use the test database, not the one DATABASE_URL names.
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "TASK_HEARTBEAT_SECONDS": "1", "WORKER_WARMUP": "false", "STYLE_GATYS_RANDOM_WEIGHTS": "true"}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "rqworker", "style-slow", "gatys-vgg19", "--worker-class", "nstsite.worker.WarmWorker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + PATIENCE
        while Render.objects.get(pk=render.pk).iteration < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        row = Render.objects.get(pk=render.pk)
        assert row.status == TaskStatus.RUNNING, row.error
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    time.sleep(settings.TASK_STALE_SECONDS + 1)
    from django.test import Client

    client = Client()
    client.force_login(user)
    page = client.get(f"/renders/{render.pk}/").content.decode()  # looking at it runs the reaper
    render.refresh_from_db()
    assert render.status == TaskStatus.FAILED
    assert "stopped unexpectedly" in render.error and "Retry" in render.error
    assert "stopped unexpectedly" in page


def test_a_new_worker_fails_the_renders_a_dead_worker_left_running(user, photo, presets, queues, run_worker):
    from datetime import timedelta

    from django.utils import timezone

    render = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)])
    queues["style"].empty()  # its job died with the worker
    long_ago = timezone.now() - timedelta(hours=1)
    Render.objects.filter(pk=render.pk).update(status="running", started_at=long_ago, heartbeat_at=long_ago)
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.FAILED and "stopped unexpectedly" in render.error


def test_a_deleted_render_counts_as_cancelled_for_its_running_job(user, photo, presets):
    render = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)])
    assert not Render.is_cancelled(render.pk)
    services.render_delete(render=render)
    assert Render.is_cancelled(render.pk)


def test_a_render_over_the_time_limit_fails_with_a_clear_reason(user, photo, painting, queues, run_worker, settings):
    settings.JOB_TIMEOUT_STYLE = 2
    render = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "size": 96, "iterations": 2000, "optimizer": "adam"},
    )  # fmt: skip
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.FAILED
    assert "longer than the time limit" in render.error and not render.result


def test_the_gatys_estimate_uses_the_workers_device_and_shows_a_downscale(
    user_api, other_user, photo, settings, no_live_workers
):
    from nstsite.capabilities import Capabilities, advertise

    def worker(device: str, flops: float, source: str = "probe", runs: int = 0) -> Capabilities:
        # what a worker on another host advertises
        networks = {"mobilenet-v2": {"flops": flops, "source": source, "runs": runs, "random_weights": False}}
        return Capabilities("estimate-test-worker", ["style-slow"], device, loss_networks=networks)

    url = f"/api/v1/estimate/gatys/?photo={photo.pk}&quality=best"
    advertise(worker("cuda (Test GPU)", 1e15))
    fast = user_api.get(url).json()
    assert fast["network"] == "mobilenet-v2" and fast["device"] == "cuda (Test GPU)"
    assert fast["size"] == 1024 and fast["notice"] == "" and "test run" in fast["basis"]
    advertise(worker("cpu (slow)", 1e9, source="render", runs=1))
    slow = user_api.get(url).json()
    assert slow["seconds"] > 100 * fast["seconds"] and "last 1 render" in slow["basis"]
    settings.STYLE_GATYS_MAX_SECONDS = int(slow["seconds"] / 4) or 1
    slow = user_api.get(url).json()
    assert (
        slow["size"] < 1024 and "Reduced to" in slow["notice"] and slow["seconds"] <= settings.STYLE_GATYS_MAX_SECONDS
    )
    from rest_framework.test import APIClient

    other = APIClient()
    other.force_authenticate(other_user)
    assert other.get(url).status_code == 404


def test_only_staff_see_which_weights_file_is_missing_for_vgg19(
    client, user, staff_user, content_jpeg, style_jpeg, settings, tmp_path, monkeypatch, queues
):
    settings.STYLE_GATYS_RANDOM_WEIGHTS = False
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    _advertise_burst_worker()  # now without VGG19
    pages = {}
    for person in (user, staff_user):
        upload = SimpleUploadedFile("p.jpg", content_jpeg, content_type="image/jpeg")
        photo, _ = services.photo_create(owner=person, upload=upload)
        services.style_create(owner=person, upload=SimpleUploadedFile("s.jpg", style_jpeg, content_type="image/jpeg"))
        client.force_login(person)
        pages[person.username] = client.get(f"/photos/{photo.pk}/").content.decode()
    ordinary, staff = pages[user.username], pages[staff_user.username]
    assert "No worker can run Gatys with VGG19 right now" in ordinary
    assert "vgg19-dcbabe56.pth" not in ordinary and str(tmp_path) not in ordinary and "fetch_models" not in ordinary
    assert "vgg19-dcbabe56.pth" in staff
    for page in (ordinary, staff):  # Gatys itself stays available on the offline network
        assert 'value="mobilenet-v2" selected' in page and "Start Gatys render</button>" in page


def test_a_preset_submitted_during_a_gatys_render_does_not_wait_for_it(
    user, photo, painting, presets, queues, settings
):
    """`make run`'s two style workers: the quick one finishes a preset while the slow one is still on Gatys."""
    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "WORKER_WARMUP": "false", "STYLE_GATYS_RANDOM_WEIGHTS": "true"}  # fmt: skip
    gatys = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "size": 96, "iterations": 2000, "optimizer": "adam"},
    )  # fmt: skip
    command = [sys.executable, str(ROOT / "manage.py"), "rqworker", "--worker-class", "nstsite.worker.WarmWorker"]
    workers = [
        subprocess.Popen([*command, *lane], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for lane in (("style",), ("style-slow", "gatys-vgg19"))
    ]
    try:
        deadline = time.monotonic() + PATIENCE
        while Render.objects.get(pk=gatys.pk).iteration < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert Render.objects.get(pk=gatys.pk).status == TaskStatus.RUNNING
        preset = services.render_create(
            owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)], params={"max_side": 128}
        )
        while Render.objects.get(pk=preset.pk).status != TaskStatus.SUCCEEDED and time.monotonic() < deadline:
            time.sleep(0.2)
        assert Render.objects.get(pk=preset.pk).status == TaskStatus.SUCCEEDED
        gatys.refresh_from_db()
        assert gatys.status == TaskStatus.RUNNING and gatys.iteration < 2000  # still optimising meanwhile
    finally:
        services.render_cancel(render=Render.objects.get(pk=gatys.pk))
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()


def test_a_renders_place_in_line_counts_only_its_own_lane(user, photo, painting, presets, queues):
    from gallery.progress import renders_progress, status_text

    running = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)], params={"quality": "draft", "size": 96}
    )
    Render.objects.filter(pk=running.pk).update(status=TaskStatus.RUNNING, progress=0.5)
    waiting_gatys = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)], params={"quality": "draft", "size": 96}
    )
    preset = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)])
    progress = renders_progress(renders=[waiting_gatys, preset])
    assert progress[waiting_gatys.pk].position == 1 and progress[preset.pk].position == 1
    # The preset does not wait out the running Gatys render; the queued Gatys render does.
    assert progress[preset.pk].eta_seconds < progress[waiting_gatys.pk].eta_seconds
    assert status_text(preset, progress[preset.pk]).startswith("Waiting · number 1 in line · about ")
