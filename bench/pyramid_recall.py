"""Cheaper MTCNN pyramids against today's: which faces each finds, how far the boxes move, how long it takes.

    .venv/bin/python bench/pyramid_recall.py [--threads 1]

Photos: the scan bench's 23 at 1024 px, every group photo and every portrait of ``testdata`` at its
own size (downscaled to the detector's 1600 px as always). Reference: the detector's defaults
(factor 0.709, minimum face 20 px). For each setting: faces found, reference faces it misses (no box
with IoU ≥ 0.5), faces it adds, the deviation of matched boxes (largest coordinate difference over
the face's size, median and max), and the detection time relative to the reference's (the reference
is timed twice, so the second row shows the load's noise). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = [(0.709, 20), (0.709, 20), (0.6, 20), (0.5, 20), (0.709, 30), (0.709, 40), (0.6, 40)]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from bench.scan_bench import TESTDATA, photo_bytes
    from ml.faces.detect import FaceDetector
    from ml.images import open_image

    images = [open_image(blob) for blob in photo_bytes(1024, 23)]
    images += [open_image(path) for path in sorted((TESTDATA / "faces_group").glob("*.jpg"))]
    images += [open_image(path) for path in sorted((TESTDATA / "faces").glob("*/*.jpg"))]
    print(f"{len(images)} photos\n")
    print(
        "| pyramid factor, min face | faces | missed | new | box deviation, median / max (of the face size) | detection time |"
    )
    print("|---|---:|---:|---:|---|---:|")
    reference: list = []
    reference_seconds = 0.0
    for factor, min_face in SETTINGS:
        detector = FaceDetector(device="cpu", factor=factor, min_face_size=min_face)
        start = time.perf_counter()
        found = [detector.detect(image) for image in images]
        seconds = time.perf_counter() - start
        if not reference:
            reference, reference_seconds = found, seconds
            smallest = min(max(f.width, f.height) for faces in found for f in faces)
            print(f"| {factor}, {min_face} px (today; smallest face {smallest:.0f} px) | "
                  f"{sum(map(len, found))} | – | – | – | 1.00 |")  # fmt: skip
            continue
        missed = added = 0
        deviations = []
        for want, got in zip(reference, found, strict=True):
            for face in want:
                best = max(got, key=lambda other: iou(face.box, other.box), default=None)
                if best is None or iou(face.box, best.box) < 0.5:
                    missed += 1
                else:
                    size = max(face.width, face.height)
                    deviations.append(float(np.abs(np.subtract(face.box, best.box)).max()) / size)
            added += sum(1 for other in got if max((iou(f.box, other.box) for f in want), default=0.0) < 0.5)
        print(
            f"| {factor}, {min_face} px | {sum(map(len, found))} | {missed} | {added} | "
            f"{100 * np.median(deviations):.1f} % / {100 * max(deviations):.0f} % | {seconds / reference_seconds:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
