"""The real services: PostgreSQL with pgvector, Redis, RQ workers, /healthz."""

from __future__ import annotations

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.site import jobs_for_tests

pytestmark = pytest.mark.django_db


def test_the_database_is_postgresql_with_pgvector():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
    assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 5)


def test_a_vector_column_answers_cosine_queries_through_an_hnsw_index():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE probe (id serial PRIMARY KEY, v vector(3))")
        cursor.execute(
            "INSERT INTO probe (v) SELECT ARRAY[cos(i), sin(i), 0.1]::vector FROM generate_series(1, 2000) AS i"
        )
        cursor.execute("CREATE INDEX ON probe USING hnsw (v vector_cosine_ops)")
        cursor.execute("ANALYZE probe")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM probe ORDER BY v <=> '[1,0,0.1]' LIMIT 5")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT v <=> '[1,0,0.1]' FROM probe ORDER BY v <=> '[1,0,0.1]' LIMIT 5")
        distances = [row[0] for row in cursor.fetchall()]
    assert "hnsw" in plan.lower() or "probe_v_idx" in plan
    assert distances == sorted(distances)
    assert distances[0] < 0.01


@pytest.mark.django_db(transaction=True)
def test_a_job_runs_on_a_real_worker_and_writes_to_the_database(queues, run_worker):
    job = queues["style"].enqueue(jobs_for_tests.create_user, "from-the-worker")
    assert run_worker("style") == 1
    job.refresh()
    assert job.get_status() == "finished"
    assert get_user_model().objects.get(username="from-the-worker").pk == job.return_value()


def test_healthz_reports_every_service(admin_client, queues):
    response = admin_client.get("/healthz")
    body = response.json()
    assert body["database"]["ok"] and body["database"]["pgvector"]
    assert body["redis"]["ok"] is True
    # No worker runs during this test, so the site must say it is unhealthy.
    assert response.status_code == 503
    assert body["workers"]["ok"] is False and "style" in body["workers"]["error"]


def test_healthz_is_200_when_a_worker_listens_on_every_queue(admin_client, queues):
    from nstsite.worker import WarmWorker

    worker = WarmWorker(list(queues.values()), connection=django_rq.get_connection("style"), name="probe-worker")
    worker.register_birth()
    try:
        response = admin_client.get("/healthz")
    finally:
        worker.register_death()
    assert response.status_code == 200, response.json()
    assert response.json()["workers"]["workers"] == {"style": 1, "style-slow": 1, "faces": 1}


def test_facenet_pytorch_mtcnn_runs_under_the_pinned_torch(testdata):
    import torch
    from facenet_pytorch import MTCNN
    from PIL import Image

    assert torch.__version__.startswith("2.14.1")
    image = Image.open(next((testdata / "faces" / "barack_obama").glob("*.jpg"))).convert("RGB")
    boxes, probs = MTCNN(keep_all=True, device="cpu").detect(image)
    assert boxes is not None and len(boxes) >= 1 and probs[0] > 0.9


def test_the_rq_dashboard_is_for_staff_only(client, user, staff_user):
    client.force_login(user)
    response = client.get("/admin/rq/", follow=True)
    assert response.status_code == 403 and b"Django administration" not in response.content
    client.force_login(staff_user)
    page = client.get("/admin/rq/")
    assert page.status_code == 200 and b"style" in page.content and b"faces" in page.content
