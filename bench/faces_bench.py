"""Face pipeline speed: MTCNN detection images/s and embedding faces/s (ours vs dlib's own).

    .venv/bin/python bench/faces_bench.py [--device cpu] [--repeats 3] [--threads N] [--facenet]

Detection runs on real group photos resized to 640×480 and 1920×1080, one image per call and a
batch of 8 equal-sized images per call. Embedding runs on real aligned 150×150 chips at batch 1,
16 and 64: ``dlib-resnet-v1`` through our embedder (the PyTorch port when it loads, else dlib)
beside dlib's ``compute_face_descriptor`` on the very same chips. Each figure is the best of
``--repeats`` timed runs after a warm-up, because this machine's CPU is shared and noisy.
Prints a Markdown table (paste into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.device import describe, pick_device  # noqa: E402 (after the path tweak, to run as a script)
from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.embedders import dlib_model_path, get_embedder  # noqa: E402
from ml.images import open_image  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
GROUP_PHOTOS = ("facenet-pytorch__multiface.jpg", "CompreFace__015_6.jpg", "face_recognition__two_people.jpg")


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: lazy allocations, oneDNN kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), ""
        )
    except OSError:
        model = ""
    import os

    return f"{model or platform.processor()}, {os.cpu_count()} logical cores, torch {torch.__version__}"


def bench_detection(detector: FaceDetector, repeats: int) -> list[tuple[str, str, float, int]]:
    rows = []
    photos = [open_image(TESTDATA / "faces_group" / name) for name in GROUP_PHOTOS]
    for size in ((640, 480), (1920, 1080)):
        images = [p.resize(size, Image.Resampling.BICUBIC) for p in photos]
        faces = sum(len(detector.detect(im)) for im in images)
        single = best_seconds(lambda images=images: [detector.detect(im) for im in images], repeats) / len(images)
        rows.append((f"{size[0]}×{size[1]}", "1 image per call", 1.0 / single, faces))
        batch = [images[i % len(images)] for i in range(8)]
        batched = best_seconds(lambda batch=batch: detector.detect_batch(batch), repeats) / len(batch)
        rows.append((f"{size[0]}×{size[1]}", "batch of 8 per call", 1.0 / batched, faces))
    return rows


def real_chips(count: int) -> list[Image.Image]:
    """Aligned 150×150 chips of real faces (cycled to ``count``)."""
    detector = FaceDetector(device="cpu", max_side=640, min_face_size=40)
    embedder = get_embedder(device="cpu")
    chips: list[Image.Image] = []
    for person in sorted((TESTDATA / "faces").iterdir())[:16]:
        image = open_image(sorted(person.iterdir())[0])
        faces = detector.detect(image)
        chips.extend(embedder.align(image, faces[:1]))
    return [chips[i % len(chips)] for i in range(count)]


def bench_embedding(device: torch.device, repeats: int, facenet: bool) -> list[tuple[str, int, float]]:
    import dlib

    chips = real_chips(64)
    arrays = [np.asarray(c) for c in chips]
    ours = get_embedder(device=device)
    native = dlib.face_recognition_model_v1(dlib_model_path())
    rows = []
    for batch in (1, 16, 64):
        stack = np.stack(arrays[:batch])
        label = f"dlib-resnet-v1 via ml.faces ({ours.backend} backend, {device.type})"
        rows.append((label, batch, batch / best_seconds(lambda s=stack: ours.embed_chips(s), repeats)))
        arg = arrays[0] if batch == 1 else arrays[:batch]
        seconds = best_seconds(lambda a=arg: native.compute_face_descriptor(a), repeats)
        rows.append(("dlib.compute_face_descriptor (C++, CPU)", batch, batch / seconds))
    if facenet:
        torch.manual_seed(0)
        net = get_embedder("facenet-vggface2", device=device, random_weights=True)
        facenet_chips = np.stack([np.asarray(c.resize((160, 160))) for c in chips])
        for batch in (1, 16, 64):
            seconds = best_seconds(lambda s=facenet_chips[:batch]: net.embed_chips(s), repeats)
            rows.append(("facenet InceptionResnetV1 (random weights: same cost)", batch, batch / seconds))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--facenet", action="store_true", help="also time FaceNet's network (random weights)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    print(f"machine: {machine()}; device: {describe(device)}\n")
    detector = FaceDetector(device=device)
    print("| detection (MTCNN, min face 20, max side 1600) | mode | images/s | faces found in 3 photos |")
    print("|---|---|---:|---:|")
    for size, mode, rate, faces in bench_detection(detector, args.repeats):
        print(f"| {size} | {mode} | {rate:.2f} | {faces} |")
    print("\n| embedding (aligned 150×150 chips) | batch | faces/s |")
    print("|---|---:|---:|")
    for name, batch, rate in bench_embedding(device, args.repeats, args.facenet):
        print(f"| {name} | {batch} | {rate:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
