"""Two hosts on one machine: a web tier and a worker that share only PostgreSQL, Redis and an S3 bucket.

The test process is the web host; the worker is a separate process with its own, different
MEDIA_ROOT. Media goes to a local S3-compatible server (moto's server mode, started here). If any
job read or wrote a file by local path, the other side would not find it: the flow below fails.
At the end both MEDIA roots must still be empty.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import torch
from django.core.files.base import ContentFile
from PIL import Image

from tests.conftest import ARTIFACTS, PATIENCE, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BUCKET = "nstsite-test-media"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "two-hosts-key",
    "AWS_SECRET_ACCESS_KEY": "two-hosts-secret",
    "AWS_S3_REGION_NAME": "us-east-1",
    "AWS_S3_ADDRESSING_STYLE": "path",
    "AWS_STORAGE_BUCKET_NAME": BUCKET,
}
WAIT_SECONDS = PATIENCE  # a deadline for a busy machine, not a timing assertion


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server, as its own process (the object storage host)."""
    port = _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "moto-server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(endpoint, timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start; see {log.name}") from None
                time.sleep(0.2)
        try:
            yield endpoint
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def s3_storage(settings, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """This (web) process's media storage, switched to a fresh bucket on the S3 server."""
    import boto3

    for key, value in S3_ENV.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if not any(b["Name"] == BUCKET for b in client.list_buckets()["Buckets"]):
        client.create_bucket(Bucket=BUCKET)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return client


@pytest.fixture
def worker_host(settings, s3_storage: Any, s3_endpoint: str, queues, tmp_path: Path) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """A worker process configured like a second host: same database, Redis and bucket; its own MEDIA_ROOT."""
    from django.db import connection

    worker_media = tmp_path / "worker-media"
    worker_media.mkdir()
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {
        **os.environ,
        **S3_ENV,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(worker_media),
        "WORKER_WARMUP": "false",  # models load on first use: only what the flow needs
        "FACES_DETECT_ON_UPLOAD": "true",
    }
    with (ARTIFACTS / "two-hosts-worker.log").open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", "style", "faces",
             "--worker-class", "nstsite.worker.WarmWorker"],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield worker_media
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(what: str, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; see test-artifacts/two-hosts-worker.log")
        time.sleep(0.3)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _fetch(client: Any, url: str) -> requests.Response | Any:
    """GET a media URL the way a browser does: follow the web tier's redirect to the signed bucket URL."""
    response = client.get(url)
    if response.status_code == 302:
        signed = requests.get(response["Location"], timeout=30)
        signed.raise_for_status()
        return signed
    assert response.status_code == 200, response
    return response


def _body(response: Any) -> bytes:
    if isinstance(response, requests.Response):
        return response.content
    return b"".join(response.streaming_content)


def test_web_and_worker_on_separate_hosts_serve_the_whole_product(  # type: ignore[no-untyped-def]
    settings, user, staff_user, user_api, client, worker_host, s3_storage, testdata
):
    from faces.models import Assignment, Face, FaceScan
    from faces.services import face_scan_create, person_create, upload_create
    from gallery import services
    from gallery.models import Render, Style, StyleKind
    from ml.style.transformer_net import TransformerNet

    settings.FACES_DETECT_ON_UPLOAD = True
    client.force_login(user)  # the browser session: file and page views
    web_media = Path(settings.MEDIA_ROOT)
    faces_dir, group_dir = testdata / "faces", testdata / "faces_group"

    # Staff enrolls a person (the uploads land in the bucket; the worker scans them from there).
    obama = person_create(name="Barack Obama", actor=staff_user)
    for path in sorted((faces_dir / "barack_obama").glob("*.jpg"))[:3]:
        upload = upload_create(owner=staff_user, file=path.read_bytes(), purpose="enroll", person=obama, name=path.name)
        face_scan_create(upload=upload)
    wait_for("enrollment", lambda: Face.objects.filter(person=obama, assignment=Assignment.ENROLLED).count() == 3)

    # A user uploads a group photo through the API: stored in the bucket, face scan queued.
    with (group_dir / "face_recognition__two_people.jpg").open("rb") as image:
        response = user_api.post("/api/v1/photos/", {"images": [image]}, format="multipart")
    assert response.status_code == 201, response.content
    photo_id = response.json()[0]["photo"]["id"]

    # A preset render, and a trained fast style whose checkpoint exists only in the bucket.
    services.presets_sync()
    preset = Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id").first()
    assert preset is not None
    buffer = io.BytesIO()
    torch.manual_seed(0)
    torch.save({"model": TransformerNet().state_dict()}, buffer)
    fast = Style(kind=StyleKind.FAST, owner=user, name="Bucket-only fast style")
    fast.checkpoint.save("fast.pth", ContentFile(buffer.getvalue()), save=False)
    fast.save()
    render_ids = []
    for method, style in (("preset", preset), ("fast", fast)):
        response = user_api.post(
            "/api/v1/renders/",
            {"photo": photo_id, "method": method, "styles": [{"style": style.pk, "weight": 1}],
             "params": {"max_side": 256}},
            format="json",
        )  # fmt: skip
        assert response.status_code == 202, response.json()
        render_ids.append(response.json()["id"])

    finished = ("succeeded", "failed", "cancelled")
    wait_for("renders", lambda: all(Render.objects.get(pk=pk).status in finished for pk in render_ids))
    wait_for("the face scan", lambda: FaceScan.objects.filter(photo_id=photo_id, status__in=finished).exists())

    for pk in render_ids:
        render = Render.objects.get(pk=pk)
        assert render.status == "succeeded", render.error
        status = user_api.get(f"/api/v1/renders/{pk}/").json()
        download = _fetch(client, status["result_url"] + "?download=1")
        result = Image.open(io.BytesIO(_body(download)))
        assert result.format == "JPEG" and max(result.size) == 256
        assert f'filename="{render.download_name()}"' in download.headers["Content-Disposition"]

    # Identification: the worker found both faces and named the enrolled one.
    scan = FaceScan.objects.get(photo_id=photo_id)
    assert scan.status == "succeeded", scan.error
    faces = list(Face.objects.filter(photo_id=photo_id).order_by("x1"))
    assert len(faces) == 2
    assert faces[0].person == obama and faces[0].assignment == Assignment.AUTO
    crop = user_api.get(f"/api/v1/faces/{faces[0].pk}/").json()["crop_url"]
    assert Image.open(io.BytesIO(_body(_fetch(client, crop)))).format == "JPEG"

    # The original comes back byte for byte, by redirect and streamed by the web tier alike.
    stored = s3_storage.get_object(Bucket=BUCKET, Key=Render.objects.get(pk=render_ids[0]).photo.image.name)
    original = stored["Body"].read()
    assert _body(_fetch(client, f"/photos/{photo_id}/image?download=1")) == original
    settings.MEDIA_REDIRECT_TO_STORAGE = False
    streamed = client.get(f"/photos/{photo_id}/image")
    assert streamed.status_code == 200 and _body(streamed) == original

    # Everything lives in the bucket; neither host wrote a media file to its own disk.
    keys = {item["Key"] for item in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for prefix in ("photos/", "renders/", "checkpoints/", "faces/"):
        assert any(key.startswith(prefix) for key in keys), (prefix, sorted(keys))
    assert _files_under(web_media) == [] and _files_under(worker_host) == []
