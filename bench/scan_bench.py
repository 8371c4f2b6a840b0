"""Bulk face scanning: scans/s and faces/s at queue depths 1, 50 and 500, before vs after, both embedders.

    .venv/bin/python bench/scan_bench.py                       # depths 1 and 50
    .venv/bin/python bench/scan_bench.py --depths 1 50 500     # 500 too (≈10× the time of 50)
    .venv/bin/python bench/scan_bench.py --side 640 --batch 8 --threads 1

What one scan costs in the worker, minus the database: decode the stored JPEG, detect (MTCNN),
align and embed every face, encode each face's 160 px crop. The photos are the real group and
portrait photos of ``testdata`` resized so the longest side is ``--side`` (default 1024, an upload
from the web form) and re-encoded as JPEG, cycled to the queue depth (23 distinct photos).

* **before** — how the worker ran originally: one photo per job, facenet-pytorch's ``detect_face``
  (per-box crop loop, ``interpolate`` per pyramid level), ``embed_faces`` per photo, every network
  in PyTorch;
* **after** — one job takes ``--batch`` (``FACES_SCAN_BATCH``) queued photos: ``detect_batch`` (one
  cascade: pyramid from the summed-area table, vectorised crops, P/R/O-Net in onnxruntime on CPU)
  and one ``embed_chips`` call per embedder for all their faces (onnxruntime on CPU).

Before and after alternate job by job (``--batch`` photos each), so load from other processes falls
on both alike; a depth of fewer than 5 jobs is repeated until each side has run 5. Prints the ratio
of the totals and the median of the per-job ratios. The run asserts that both sides found the same
number of faces. Depth 1 is the latency of a lone upload; the per-job database and queue work
(claim, heartbeat, identification query, rows) is not in these figures: ``bench/scan_worker_bench.py``
measures the whole worker.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def photo_bytes(side: int, count: int, distinct: bool = False) -> list[bytes]:
    """``count`` JPEGs (real group photos and portraits, longest side ``side``), cycled.

    ``distinct``: each pass after the first re-encodes at one JPEG quality step lower, so that no
    two files are equal (the gallery refuses a photo its owner already has).
    """
    from ml.images import open_image

    paths = sorted((TESTDATA / "faces_group").glob("*.jpg"))
    paths += sorted((TESTDATA / "faces").glob("*/*.jpg"))[::7]
    images = []
    for path in paths:
        image = open_image(path)
        scale = side / max(image.size)
        images.append(image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale)))))
    encoded = []
    for i in range(count):
        buffer = io.BytesIO()
        images[i % len(images)].save(buffer, "JPEG", quality=90 - (i // len(images) if distinct else 0))
        encoded.append(buffer.getvalue())
    return encoded


def old_detect(detector, image: Image.Image):  # type: ignore[no-untyped-def]
    """The detector as it was: facenet-pytorch's detect_face on one photo (per-box crop loop)."""
    from facenet_pytorch.models.utils.detect_face import detect_face

    from ml.images import to_rgb

    rgb = to_rgb(image)
    scale = min(1.0, detector.max_side / max(rgb.size))
    if scale < 1.0:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if min(rgb.size) < detector._min_size(scale):
        return []
    with torch.inference_mode():
        tensor = torch.from_numpy(np.asarray(rgb, dtype=np.uint8)[None].copy())
        boxes, points = detect_face(
            tensor, detector._min_size(scale), *detector._nets, list(detector.thresholds), detector.factor,
            detector.device,
        )  # fmt: skip
    return detector._to_faces(boxes[0], points[0], scale, image.width, image.height)


def crops(image: Image.Image, faces) -> int:  # type: ignore[no-untyped-def]
    from ml.faces.align import crop_thumbnail

    for face in faces:
        crop_thumbnail(image, face.box, size=160).save(io.BytesIO(), "JPEG", quality=88)
    return len(faces)


def scan_before(detector, embedder, data: list[bytes]) -> int:  # type: ignore[no-untyped-def]
    from ml.faces.onnx_nets import pytorch_only
    from ml.images import open_image

    found = 0
    for blob in data:  # one job per photo
        image = open_image(blob)
        faces = old_detect(detector, image)
        if faces:
            with pytorch_only():  # the embedder as it was: PyTorch on every device
                embedder.embed_faces(image, faces)
        found += crops(image, faces)
    return found


def scan_after(detector, embedder, data: list[bytes]) -> int:  # type: ignore[no-untyped-def]
    from ml.images import open_image

    images = [open_image(blob) for blob in data]
    found = detector.detect_batch(images)
    chips = [chip for image, faces in zip(images, found, strict=True) if faces for chip in embedder.align(image, faces)]
    embedder.embed_chips(chips)
    return sum(crops(image, faces) for image, faces in zip(images, found, strict=True))


def timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    faces = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, faces


def measure(detector, embedder, data: list[bytes], batch: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Before and after over ``data``, alternating job by job (``batch`` photos a job; a depth below
    5 jobs is repeated until both sides have run 5 jobs, and each round's time is kept)."""
    rounds = max(1, -(-5 * batch // len(data))) if len(data) < 5 * batch else 1
    chunks = [data[i : i + batch] for i in range(0, len(data), batch)] * rounds
    walls: dict[str, list[float]] = {"before": [], "after": []}
    totals = {"before": [0.0, 0.0, 0], "after": [0.0, 0.0, 0]}
    for chunk in chunks:
        for key, fn in (("before", scan_before), ("after", scan_after)):
            wall, cpu, faces = timed(lambda fn=fn, chunk=chunk: fn(detector, embedder, chunk))
            walls[key].append(wall)
            for i, value in enumerate((wall, cpu, faces)):
                totals[key][i] += value
    (wb, cb, fb), (wa, ca, fa) = totals["before"], totals["after"]
    assert fb == fa, "before and after found different numbers of faces"
    scans = len(data) * rounds
    ratios = [b / a for b, a in zip(walls["before"], walls["after"], strict=True)]
    return {
        "before_scans": scans / wb, "after_scans": scans / wa, "before_faces": fb / wb, "after_faces": fa / wa,
        "ratio": wb / wa, "median_job_ratio": statistics.median(ratios), "jobs": len(chunks),
        "cpu_before": cb / scans, "cpu_after": ca / scans, "faces": fb / rounds,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=8, help="FACES_SCAN_BATCH")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--embedders", nargs="+", default=["dlib-resnet-v1", "facenet-casia-webface"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from bench.style_bench import machine
    from ml.faces.detect import FaceDetector
    from ml.faces.embedders import get_embedder
    from ml.weights import MissingWeightsError

    detector = FaceDetector(device="cpu")
    print(f"Machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"Photos: testdata group + portrait photos at {args.side} px (JPEG), scan batch {args.batch}\n")
    print("| embedder | depth | before: scans/s | after: scans/s | speed-up (total) | median per job | "
          "before: faces/s | after: faces/s | CPU s/scan before → after | faces |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name in args.embedders:
        try:
            embedder = get_embedder(name, device="cpu")
            label = name
        except MissingWeightsError:
            embedder = get_embedder(name, device="cpu", random_weights=True)
            label = f"{name} (random weights, same cost)"
        warm = photo_bytes(args.side, 2)
        scan_before(detector, embedder, warm)
        scan_after(detector, embedder, warm)  # builds the onnxruntime sessions outside the clock
        for depth in sorted(args.depths):
            m = measure(detector, embedder, photo_bytes(args.side, depth), min(args.batch, depth))
            print(
                f"| {label} | {depth} | {m['before_scans']:.2f} | {m['after_scans']:.2f} | **{m['ratio']:.1f}×** | "
                f"{m['median_job_ratio']:.1f}× ({m['jobs']:.0f} jobs) | {m['before_faces']:.1f} | "
                f"{m['after_faces']:.1f} | {m['cpu_before']:.3f} → {m['cpu_after']:.3f} | {m['faces']:.0f} |",
                flush=True,
            )
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
