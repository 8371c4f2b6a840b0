"""Face pipeline speed: MTCNN detection images/s and embedding faces/s for every offline embedder.

    .venv/bin/python bench/faces_bench.py [--device cpu] [--repeats 3] [--threads N] [--embedding-only] [--batches 1,32]

Detection runs on real group photos resized to 640×480 and 1920×1080, one image per call and a
batch of 8 equal-sized images per call. Embedding runs on the real chips each embedder is given
in the app (FaceNet: 160×160 MTCNN box + margin crops; dlib: 150×150 5-point warps) of the first
photo of 16 people, cycled to the batch size, at batch 1, 16, 32 and 64 (``--batches``): ``facenet-casia-webface``
(the real converted weights), ``dlib-resnet-v1`` through our PyTorch port — on CPU each through
onnxruntime (the app's path) and through PyTorch (``pytorch_only``) side by side — and dlib's own
``compute_face_descriptor`` on the same chips when ``dlib`` is installed (a dev dependency). The
embedders are timed interleaved (one run of each in turn, best of ``--repeats``), so their ratios
hold even on a shared, noisy CPU. Prints Markdown tables (paste into docs/benchmarks.md).
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
from ml.faces.dlib_resnet import default_model_path  # noqa: E402
from ml.faces.embedders import Embedder, get_embedder  # noqa: E402
from ml.faces.onnx_nets import pytorch_only, runs_on_onnx  # noqa: E402
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


def real_chips(count: int) -> dict[str, np.ndarray]:
    """Each embedder's own input chips of 16 real faces, cycled to ``count``: uint8 (count, S, S, 3)."""
    detector = FaceDetector(device="cpu", max_side=640, min_face_size=40)
    found = []
    for person in sorted((TESTDATA / "faces").iterdir())[:16]:
        image = open_image(sorted(person.iterdir())[0])
        found.append((image, detector.detect(image)[:1]))
    chips = {}
    for name in EMBEDDERS_TIMED:
        embedder = get_embedder(name, device="cpu")
        own = [np.asarray(chip) for image, faces in found for chip in embedder.align(image, faces)]
        chips[name] = np.stack([own[i % len(own)] for i in range(count)])
    return chips


EMBEDDERS_TIMED = ("facenet-casia-webface", "dlib-resnet-v1")


def bench_embedding(device: torch.device, repeats: int, batches: tuple[int, ...]) -> list[tuple[str, int, float]]:
    chips = real_chips(max(batches))
    embedders = {name: get_embedder(name, device=device) for name in EMBEDDERS_TIMED}
    try:
        import dlib

        native = dlib.face_recognition_model_v1(str(default_model_path()))
    except ImportError:
        native = None
    rows = []
    for batch in batches:
        runs: dict[str, Callable[[], object]] = {}
        for name, embedder in embedders.items():
            engine = "onnxruntime" if runs_on_onnx(device) else "PyTorch"
            runs[f"{name} ({engine}, {device.type})"] = lambda e=embedder, s=chips[name][:batch]: e.embed_chips(s)
            if runs_on_onnx(device):  # the same network in PyTorch, side by side
                runs[f"{name} (PyTorch, {device.type})"] = lambda e=embedder, s=chips[name][:batch]: _in_pytorch(e, s)
        if native is not None:
            dlib_chips = list(chips["dlib-resnet-v1"][:batch])
            runs["dlib.compute_face_descriptor (C++, CPU)"] = (
                (lambda c=dlib_chips[0]: native.compute_face_descriptor(c))
                if batch == 1
                else (lambda c=dlib_chips: native.compute_face_descriptor(c))
            )
        for label, seconds in best_seconds_interleaved(runs, repeats).items():
            rows.append((label, batch, batch / seconds))
    return rows


def _in_pytorch(embedder: Embedder, chips: np.ndarray) -> np.ndarray:
    with pytorch_only():
        return embedder.embed_chips(chips)


def best_seconds_interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each run, taking turns (A B C A B C …) so load changes hit all of them alike."""
    for fn in runs.values():
        fn()  # warm-up
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--embedding-only", action="store_true", help="skip the detection table")
    parser.add_argument("--batches", default="1,16,32,64", help="embedding batch sizes (default 1,16,32,64)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    print(f"machine: {machine()}; torch threads: {torch.get_num_threads()}; device: {describe(device)}\n")
    if not args.embedding_only:
        detector = FaceDetector(device=device)
        print("| detection (MTCNN, min face 20, max side 1600) | mode | images/s | faces found in 3 photos |")
        print("|---|---|---:|---:|")
        for size, mode, rate, faces in bench_detection(detector, args.repeats):
            print(f"| {size} | {mode} | {rate:.2f} | {faces} |")
        print()
    print("| embedding (each embedder's own real chips) | batch | faces/s |")
    print("|---|---:|---:|")
    batches = tuple(int(b) for b in args.batches.split(","))
    for name, batch, rate in bench_embedding(device, args.repeats, batches):
        print(f"| {name} | {batch} | {rate:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
