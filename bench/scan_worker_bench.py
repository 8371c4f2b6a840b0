"""Face scans drained by a real worker: scans/s at a queue depth, one scan per job vs batched jobs.

    .venv/bin/python bench/scan_worker_bench.py --depth 50 [--side 1024] [--batch 8]

Everything real: embedded PostgreSQL + pgvector and Redis under ``var/bench-scans/`` (or
``DATABASE_URL`` / ``REDIS_URL``), gallery photos stored as uploads are, ``face_scan_create`` per
photo (so one RQ job each, enqueued on commit), then a ``WarmWorker`` in burst mode drains the
queue; the clock runs from the worker's start to the empty queue (models already warm).

* **before**: ``FACES_SCAN_BATCH=1``, facenet-pytorch's own ``detect_face`` (per-box loop) in
  the detector and the embedders in PyTorch — the worker as it was;
* **after**: ``FACES_SCAN_BATCH=--batch``, the vectorised cascade and onnxruntime on CPU.

Runs before, after, before, after (``--rounds``) on fresh photos, so the load of other processes
falls on both; prints scans/s and faces/s per run and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from nstsite.embedded import configure_environment

    configure_environment(ROOT / "var" / "bench-scans")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    call_command("migrate", verbosity=0)
    import django_rq

    from bench.scan_bench import old_detect, photo_bytes
    from bench.style_bench import machine
    from faces import engines
    from faces.models import Face, FaceScan
    from faces.services import face_scan_create
    from gallery.models import Photo
    from ml.faces.detect import FaceDetector
    from ml.faces.onnx_nets import pytorch_only
    from nstsite.uploads import encode, read_upload
    from nstsite.worker import WarmWorker

    queue = django_rq.get_queue("faces")
    queue.empty()
    user, _ = get_user_model().objects.get_or_create(username="scan-bench")
    blobs = photo_bytes(args.side, args.depth, distinct=True)
    engines.warm_up()
    detector = engines.detector()
    batched_detect = FaceDetector.detect_batch

    def one_by_one(self: FaceDetector, images):  # type: ignore[no-untyped-def]
        return [old_detect(self, image) for image in images]

    def run(mode: str) -> tuple[float, int]:
        settings.FACES_SCAN_BATCH = 1 if mode == "before" else args.batch
        detector.detect_batch = (one_by_one if mode == "before" else batched_detect).__get__(detector)  # type: ignore[method-assign]
        Photo.objects.filter(owner=user).delete()
        with transaction.atomic():
            for i, blob in enumerate(blobs):
                clean = read_upload(blob, name=f"p{i}.jpg")
                photo = Photo(owner=user, original_name=f"p{i}.jpg", content_hash=clean.sha256)
                encoded = encode(clean.image, clean.format)
                photo.image.save(str(encoded.name), encoded, save=False)
                photo.save()
                face_scan_create(photo=photo)
        start = time.perf_counter()
        # before: the face networks in PyTorch, as they ran; after: onnxruntime on CPU
        with pytorch_only() if mode == "before" else contextlib.nullcontext():
            WarmWorker([queue], connection=queue.connection).work(burst=True)
        seconds = time.perf_counter() - start
        scans = FaceScan.objects.filter(owner=user)
        assert scans.filter(status="succeeded").count() == args.depth, list(scans.values_list("status", "error"))
        return seconds, Face.objects.filter(owner=user).count()

    print(f"Machine: {machine()}")
    print(f"Depth {args.depth}, photos {args.side} px, batch {args.batch}, embedder {settings.FACES_EMBEDDER}\n")
    print("| run | seconds | scans/s | faces/s | faces |\n|---|---:|---:|---:|---:|")
    results: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for mode in ("before", "after"):
            seconds, faces = run(mode)
            results[mode].append(seconds)
            print(
                f"| {mode} | {seconds:.1f} | {args.depth / seconds:.2f} | {faces / seconds:.1f} | {faces} |", flush=True
            )
    ratio = statistics.median(results["before"]) / statistics.median(results["after"])
    print(f"\nafter / before scans/s: **{ratio:.2f}×**; load average at the end {os.getloadavg()[0]:.1f}")
    Photo.objects.filter(owner=user).delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
