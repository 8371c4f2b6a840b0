"""How time and peak memory grow with image size, per style engine: a table to size workers with.

    .venv/bin/python bench/cost_growth.py                       # 512 … 4096 px, preset + arbitrary
    .venv/bin/python bench/cost_growth.py --sizes 512 1024 --engines preset-torch gatys

Each (engine, size) runs in its own process: load the model, reset the kernel's peak-RSS mark
(Linux ``clear_refs``), run once to warm up, then time ``--repeats`` runs (median). "Peak added"
is the process's peak RSS during the runs minus its RSS after loading: the memory a job of that size
needs on top of the warm worker. Square photos (``tubingen.jpg`` resized) so N px means N×N.
For scans vs queue depth see ``bench/scan_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENGINES = {
    "preset": "preset, CPU default (onnxruntime, our graph)",
    "preset-torch": "preset, PyTorch module (the CUDA engine, here on CPU)",
    "arbitrary": "arbitrary style (384 px network + guided upsampling)",
    "gatys": "Gatys, seconds per L-BFGS iteration (random VGG19)",
}


def one(engine: str, side: int, repeats: int) -> dict[str, float]:
    """In a subprocess: median seconds and peak added bytes for one engine at one size."""
    from bench.style_bench import _peak_rss, _photo, _reset_peak_rss

    photo = _photo(side)
    if engine in ("preset", "preset-torch"):
        from ml.style.presets import PresetStylizer

        stylizer = PresetStylizer(device="cpu", engine="onnxruntime" if engine == "preset" else "torch")

        def run() -> object:
            return stylizer.stylize(photo, {3: 1.0}, max_side=side)

    elif engine == "arbitrary":
        from ml.style.arbitrary import ArbitraryStylizer

        arbitrary = ArbitraryStylizer(device="cpu")
        style = _photo(512).rotate(90)

        def run() -> object:
            return arbitrary.stylize(photo, style, max_side=side)

    else:
        from ml.style.gatys import run_gatys
        from ml.style.gatys_params import GatysParams
        from ml.style.vgg import load_vgg19

        vgg = load_vgg19(random_weights=True, device="cpu")
        stamps: list[float] = []

        def run() -> object:
            stamps.clear()
            params = GatysParams(size=side, iterations=3)
            run_gatys(photo, [(photo.rotate(90), 1.0)], params, net=vgg, device="cpu",
                      on_progress=lambda p: stamps.append(p.elapsed))  # fmt: skip
            return None

    base = _reset_peak_rss()
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        if engine == "gatys":
            times[-1] = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return {"seconds": statistics.median(times), "peak_added": _peak_rss() - base}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=["preset", "arbitrary"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from bench.style_bench import machine

    print(f"Machine: {machine()}\n")
    print("| engine | " + " | ".join(f"{s}²" for s in args.sizes) + " |")
    print("|---|" + "---:|" * len(args.sizes))
    for engine in args.engines:
        cells = []
        for side in args.sizes:
            code = (
                f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from bench.cost_growth import one; "
                f"print(json.dumps(one({engine!r}, {side}, {1 if engine == 'gatys' else args.repeats})))"
            )
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                cells.append(
                    f"failed ({done.stderr.strip().splitlines()[-1][:60] if done.stderr.strip() else done.returncode})"
                )
            else:
                r = json.loads(done.stdout.strip().splitlines()[-1])
                cells.append(f"{r['seconds']:.2f} s, +{r['peak_added'] / 2**20:.0f} MiB")
            print(f"  {engine} {side}: {cells[-1]}", file=sys.stderr, flush=True)
        print(f"| {ENGINES[engine]} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
