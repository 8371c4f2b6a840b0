"""Run every CUDA path once and compare it with the CPU: the Python part of ``bench/gpu_check.sh``.

    .venv/bin/python bench/gpu_check.py            # every engine once, small inputs (~1-2 min on a GPU)
    .venv/bin/python bench/gpu_check.py --full     # also 500 Gatys iterations at 512 px per loss network
    .venv/bin/python bench/gpu_check.py --quick    # tiny inputs (what the test suite runs on CPU)

Each check builds the engine with an explicit device, runs it once on the CPU (the reference) and
once on ``cuda`` (when there is one), and prints the time of the CUDA run (after one warm-up) and
the largest difference from the CPU result. Without CUDA every check still runs on the CPU, the
table says so, and the first line says clearly that CUDA was not available. Weights that are not
on this machine are replaced by random ones of the same architecture (marked "random weights"):
speed and CPU/GPU agreement do not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


CHECKS = ("preset", "arbitrary", "gatys", "faces", "training")


@dataclass
class Row:
    check: str
    device: str
    seconds: float
    max_diff: float | None
    note: str = ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    fn()  # warm-up: cuDNN/oneDNN pick kernels on the first call per shape
    _sync(device)
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - start


def _photo(name: str, side: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    from ml.images import open_image

    path = TESTDATA / "style" / "content" / name
    image = open_image(path) if path.is_file() else Image.radial_gradient("L").convert("RGB")
    image.thumbnail((side, side))
    return image


def _diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def check_preset(devices: list[torch.device], side: int) -> list[Row]:
    from ml.style.imaging import to_tensor
    from ml.style.presets import PresetStylizer, weight_vector

    photo, vector = to_tensor(_photo("tubingen.jpg", side)), weight_vector({3: 0.5, 19: 0.5})
    reference = PresetStylizer(device="cpu", engine="torch")
    expected = reference.stylize_tensor(photo, vector).numpy()
    fast = PresetStylizer(device="cpu")
    rows = []
    pixels = np.asarray(_photo("tubingen.jpg", side))
    if fast.fast is not None:
        out, seconds = _timed(lambda: fast.fast.run(pixels, vector.numpy()), torch.device("cpu"))  # type: ignore[union-attr]
        rows.append(Row("preset (onnxruntime fast path)", "cpu", seconds, _diff(out, expected), "vs fp32 module"))
    for device in devices:
        stylizer = PresetStylizer(device=device)
        out, seconds = _timed(lambda s=stylizer: s.stylize_tensor(photo, vector).cpu().numpy(), device)
        note = "fp16 autocast, channels_last" if device.type == "cuda" else "fp32 module (reference)"
        rows.append(Row("preset (PyTorch module)", str(device), seconds, _diff(out, expected), note))
    return rows


def check_arbitrary(devices: list[torch.device], side: int) -> list[Row]:
    from ml.style.arbitrary import ArbitraryStylizer, onnx_device

    content, style = _photo("tubingen.jpg", side), _photo("sailboat.jpg", 256)
    expected = None
    rows = []
    for device in devices:
        stylizer = ArbitraryStylizer(device=onnx_device(device))
        provider = stylizer.transform.get_providers()[0]
        out, seconds = _timed(lambda s=stylizer: np.asarray(s.stylize(content, style), dtype=np.float32) / 255, device)
        expected = out if expected is None else expected
        note = f"onnxruntime {provider}"
        if device.type == "cuda" and provider != "CUDAExecutionProvider":
            note += " (this onnxruntime build has no CUDA provider: the arbitrary engine runs on the CPU)"
        rows.append(Row("arbitrary style", str(device), seconds, _diff(out, expected), note))
    return rows


def _load(loader: Callable[..., Any], device: torch.device) -> tuple[Any, str]:
    """The network with its real weights, else random ones (seeded, so every device gets the same)."""
    from ml.weights import MissingWeightsError

    torch.manual_seed(3)
    try:
        return loader(device=device), ""
    except MissingWeightsError:
        return loader(random_weights=True, device=device), "random weights"


def check_gatys(devices: list[torch.device], side: int, iterations: int, full: bool) -> list[Row]:
    from ml.style.gatys import run_gatys
    from ml.style.gatys_params import NETWORKS, GatysParams
    from ml.style.networks import load_network

    content, style = _photo("tubingen.jpg", side), _photo("sailboat.jpg", side)
    rows = []
    for name in NETWORKS:
        expected = None
        for device in devices:
            net, note = _load(functools.partial(load_network, name), device)
            params = GatysParams.for_network(name, size=side, iterations=iterations, optimizer="adam", seed=0)

            def render(net: Any = net, params: GatysParams = params, device: torch.device = device) -> np.ndarray:
                image = run_gatys(content, [(style, 1.0)], params, net=net, device=device, preview_every=0)
                return np.asarray(image, dtype=np.float32) / 255

            out, seconds = _timed(render, device)
            expected = out if expected is None else expected
            # Adam from the same start: CPU and GPU differ only by float rounding that the steps carry on.
            rows.append(Row(f"Gatys {name}, {iterations} Adam its", str(device), seconds, _diff(out, expected), note))
            if full and device.type == "cuda":
                big = GatysParams.for_network(name, size=512, iterations=500, seed=0)
                _sync(device)
                start = time.perf_counter()
                run_gatys(
                    _photo("tubingen.jpg", 512), [(_photo("sailboat.jpg", 512), 1.0)], big, net=net, device=device
                )
                _sync(device)
                rows.append(
                    Row(f"Gatys {name}, 500 L-BFGS its at 512 px", str(device), time.perf_counter() - start, None, note)
                )
    return rows


def check_faces(devices: list[torch.device], side: int) -> list[Row]:
    from PIL import Image

    from ml.faces.detect import FaceDetector
    from ml.faces.embedders import EMBEDDERS, get_embedder
    from ml.images import open_image
    from ml.weights import MissingWeightsError

    group = TESTDATA / "faces_group"
    names = ["facenet-pytorch__multiface.jpg", "face_recognition__two_people.jpg"]
    photos = [open_image(group / n) if (group / n).is_file() else Image.new("RGB", (320, 240)) for n in names]
    for photo in photos:
        photo.thumbnail((side, side))
    rows = []
    expected: Any = None
    faces_cpu: list[Any] = []
    for device in devices:
        detector = FaceDetector(device=device)
        found, seconds = _timed(lambda d=detector: d.detect_batch(photos), device)
        boxes = np.array([face.box for faces in found for face in faces]).reshape(-1, 4)
        if expected is None:
            expected, faces_cpu = boxes, found
        diff = _diff(boxes, expected) if boxes.shape == expected.shape else float("inf")
        rows.append(Row("MTCNN detect_batch", str(device), seconds, diff, f"{len(boxes)} faces"))
    for name in EMBEDDERS:
        reference = None
        for device in devices:
            try:
                embedder, note = get_embedder(name, device=device), ""
            except MissingWeightsError:
                embedder, note = get_embedder(name, device=device, random_weights=True), "random weights"
            chips = [
                chip for photo, faces in zip(photos, faces_cpu, strict=True) for chip in embedder.align(photo, faces)
            ]
            if not chips:
                chips = [Image.new("RGB", (embedder.input_size, embedder.input_size), (128, 100, 90))]
            vectors, seconds = _timed(lambda e=embedder, c=chips: e.embed_chips(c), device)
            reference = vectors if reference is None else reference
            rows.append(
                Row(
                    f"embedder {name}",
                    str(device),
                    seconds,
                    _diff(vectors, reference),
                    f"{len(chips)} faces {note}".strip(),
                )
            )
    return rows


def check_training(devices: list[torch.device], side: int) -> list[Row]:
    from ml.style.train import PerceptualLoss, TrainConfig, train_step
    from ml.style.transformer_net import TransformerNet
    from ml.style.vgg import load_vgg16

    torch.manual_seed(0)
    initial = TransformerNet().state_dict()
    batch = torch.rand(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    style = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(2))
    rows = []
    expected = None
    for device in devices:
        vgg, note = _load(load_vgg16, device)
        net = TransformerNet().to(device)

        def step(net: TransformerNet = net, vgg: Any = vgg, device: torch.device = device) -> np.ndarray:
            net.load_state_dict(initial)
            optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
            loss = PerceptualLoss(vgg, style.to(device), TrainConfig(image_size=side))
            train_step(net, loss, optimizer, batch.to(device))
            return torch.cat([p.detach().flatten().cpu() for p in net.parameters()]).numpy()

        weights, seconds = _timed(step, device)
        expected = weights if expected is None else expected
        rows.append(
            Row(
                "training step (Johnson net, VGG16 loss)",
                str(device),
                seconds,
                _diff(weights, expected),
                f"weights after one Adam step {note}".strip(),
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny inputs (a CPU smoke test)")
    parser.add_argument("--full", action="store_true", help="also 500 Gatys iterations at 512 px on CUDA")
    parser.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS), help="run only these checks")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if cuda else [])
    if cuda:
        print(f"CUDA available: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"CUDA was NOT available (torch {torch.__version__}): every check below ran on the CPU only.")
    side = 96 if args.quick else 512
    rows: list[Row] = []
    checks: dict[str, Callable[[], list[Row]]] = {
        "preset": lambda: check_preset(devices, side),
        "arbitrary": lambda: check_arbitrary(devices, side),
        "gatys": lambda: check_gatys(devices, 64 if args.quick else 256, 3 if args.quick else 20, args.full),
        "faces": lambda: check_faces(devices, 320 if args.quick else 1024),
        "training": lambda: check_training(devices, 32 if args.quick else 256),
    }
    for label in args.only:
        check = checks[label]
        try:
            rows += check()
        except Exception as exc:  # noqa: BLE001 - report the broken path and go on to the others
            rows.append(Row(label, "-", float("nan"), None, f"FAILED: {type(exc).__name__}: {exc}"))
    print("\n| check | device | seconds | max |Δ| vs CPU | note |\n|---|---|---:|---:|---|")
    for row in rows:
        diff = "—" if row.max_diff is None else f"{row.max_diff:.2e}"
        print(f"| {row.check} | {row.device} | {row.seconds:.3f} | {diff} | {row.note} |")
    if not cuda:
        print(
            "\nCUDA was NOT available: no GPU path was exercised; the CPU rows are the reference a GPU run compares with."
        )
    return 1 if any(r.note.startswith("FAILED") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
