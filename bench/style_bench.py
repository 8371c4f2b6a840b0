"""Style-transfer speed and memory on this machine; prints a Markdown table.

    .venv/bin/python bench/style_bench.py            # everything (~3-5 min on a 2-core CPU)
    .venv/bin/python bench/style_bench.py --quick    # fewer repeats

Gatys timings use a RANDOM-weight VGG19 (the ImageNet file is not downloadable here); speed and
memory do not depend on the weights' values. Each Gatys configuration runs in its own
subprocess, and its peak-RSS mark is reset after the model loads (Linux clear_refs). Feed-forward engines report
the median of warm runs on a real photo resized to N×N, including PIL conversion.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BLEND = {3: 0.5, 19: 0.5}
BLEND_OPTIONS = {"preserve_color": True, "strength": 0.8}
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def _photo(side: int):  # type: ignore[no-untyped-def]
    from PIL import Image

    from ml.images import open_image

    path = TESTDATA / "style" / "content" / "tubingen.jpg"
    image = open_image(path) if path.is_file() else Image.radial_gradient("L").convert("RGB")
    return image.resize((side, side), Image.Resampling.LANCZOS)


def _median_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up: oneDNN picks its kernels on the first call per shape
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs) so model loading is not counted."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_rss() -> int:
    try:
        return _status_kib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def gatys_one(optimizer: str, side: int, iterations: int) -> dict[str, float]:
    """Run in a subprocess: seconds per iteration and peak RSS for one Gatys configuration."""
    from ml.style.gatys import GatysParams, estimate, load_vgg19, run_gatys

    vgg = load_vgg19(random_weights=True, device="cpu")
    content, style = _photo(side), _photo(side).rotate(90)
    base_rss = _reset_peak_rss()
    stamps: list[float] = []
    params = GatysParams(size=side, iterations=iterations + 1, optimizer=optimizer)  # type: ignore[arg-type]
    run_gatys(content, [(style, 1.0)], params, net=vgg, device="cpu", on_progress=lambda p: stamps.append(p.elapsed))
    per_iteration = (stamps[-1] - stamps[0]) / (len(stamps) - 1)  # excludes target computation and first step
    peak = _peak_rss()
    guess = estimate(GatysParams(size=side, iterations=1, optimizer=optimizer), (side, side), "cpu")  # type: ignore[arg-type]
    return {
        "s_per_it": per_iteration,
        "peak_rss": peak,
        "delta_rss": peak - base_rss,
        "est_s": guess.seconds,
        "est_bytes": guess.peak_bytes,
    }


def bench_gatys(quick: bool) -> list[str]:
    rows = [
        "| engine | size | s / iteration | peak RSS during the run | added by the run | estimate: s / it, peak |",
        "|---|---|---|---|---|---|",
    ]
    for side in (256, 512):
        for optimizer in ("lbfgs", "adam"):
            iterations = 2 if quick or side == 512 else 4
            code = (
                f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from bench.style_bench import gatys_one; "
                f"print(json.dumps(gatys_one({optimizer!r}, {side}, {iterations})))"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(
                f"| Gatys {optimizer} (random VGG19) | {side}² | {r['s_per_it']:.2f} | "
                f"{r['peak_rss'] / 2**20:.0f} MiB | {r['delta_rss'] / 2**20:.0f} MiB | "
                f"{r['est_s']:.2f} s, {r['est_bytes'] / 2**20:.0f} MiB |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def bench_feedforward(quick: bool) -> list[str]:
    import numpy as np
    import onnxruntime as ort
    import torch

    from ml.style.arbitrary import ArbitraryStylizer
    from ml.style.fast import FastStylizer
    from ml.style.presets import PresetStylizer, model_path
    from ml.style.transformer_net import TransformerNet

    repeats = 2 if quick else 3
    presets = PresetStylizer(device="cpu")
    arbitrary = ArbitraryStylizer(device="cpu")
    fast = FastStylizer(TransformerNet(), device="cpu")  # random weights: speed does not depend on them
    session = ort.InferenceSession(model_path(), providers=["CPUExecutionProvider"])
    style = _photo(600).rotate(90)
    rows = ["| engine | 512² | 1024² | 2048² |", "|---|---|---|---|"]
    results: dict[str, list[str]] = {}

    def onnx_ms(side: int) -> float:
        x = np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32)
        w = np.eye(26, dtype=np.float32)[3]
        return _median_ms(lambda: session.run(None, {"image": x, "style_weights": w}), repeats)

    for side in (512, 1024, 2048):
        photo = _photo(side)
        results.setdefault("preset (PyTorch port, full PIL→PIL call)", []).append(
            f"{_median_ms(lambda photo=photo: presets.stylize(photo, {3: 1.0}), repeats):.0f} ms"
        )
        results.setdefault("preset, 2-preset blend + preserve colour + strength 0.8", []).append(
            f"{_median_ms(lambda photo=photo: presets.stylize(photo, BLEND, **BLEND_OPTIONS), repeats):.0f} ms"
        )
        results.setdefault("preset network in onnxruntime (reference, tensor only)", []).append(
            f"{onnx_ms(side):.0f} ms"
        )
        results.setdefault("arbitrary, style vector cached, guided upsampling", []).append(
            f"{_median_ms(lambda photo=photo: arbitrary.stylize(photo, style), repeats):.0f} ms"
        )
        if side <= 1024:
            results.setdefault("fast TransformerNet (Johnson, 1.68 M params)", []).append(
                f"{_median_ms(lambda photo=photo: fast.stylize(photo), repeats):.0f} ms"
            )
        else:
            results["fast TransformerNet (Johnson, 1.68 M params)"].append("not run")
        print(side, {k: v[-1] for k, v in results.items()}, file=sys.stderr, flush=True)
    arbitrary._cache.clear()
    vector_ms = _median_ms(lambda: (arbitrary._cache.clear(), arbitrary.style_vector(style)), repeats)
    rows += [f"| {name} | {' | '.join(values)} |" for name, values in results.items()]
    rows.append(
        f"\nStyle-vector prediction (arbitrary, uncached, once per new style image): {vector_ms:.0f} ms. "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads."
    )
    return rows


def machine() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, StopIteration, subprocess.CalledProcessError):
        model = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{model}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, load average {load:.1f} at start"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-gatys", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    print("\n".join(bench_feedforward(args.quick)) + "\n")
    if not args.skip_gatys:
        print("\n".join(bench_gatys(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
