"""How good is a fresh worker's first Gatys estimate? The start-up probe against real renders.

    .venv/bin/python bench/gatys_first_estimate.py                          # mobilenet-v2, draft + standard
    .venv/bin/python bench/gatys_first_estimate.py --sides 96 160 256 --rounds 2

A worker that has not rendered yet estimates with the throughput of a short probe
(``gallery.capacity.probe_throughputs`` → ``ml.style.gatys.measure_throughput``). This runs the
probe at several sizes, then real renders at each quality's own size on the test photos, and prints
each probe's estimate against the real time (ratio > 1: the estimate is too long). Probes and renders
alternate round by round, so a busy machine slows both alike; the ratios are the figures to trust.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from ml.style.estimate import estimate  # noqa: E402
from ml.style.gatys import GatysParams, measure_throughput, run_gatys  # noqa: E402
from ml.style.networks import load_network  # noqa: E402

PAIRS = [("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", default="mobilenet-v2")
    parser.add_argument("--qualities", nargs="+", default=["draft", "standard"])
    parser.add_argument("--sides", nargs="+", type=int, default=[96, 160, 256])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    net = load_network(args.network, random_weights=args.network == "vgg19", device="cpu")
    images = [
        (
            Image.open(TESTDATA / "style" / "content" / c).convert("RGB"),
            Image.open(TESTDATA / "style" / "styles" / s).convert("RGB"),
        )
        for c, s in PAIRS
    ]
    probes: dict[int, list[float]] = {side: [] for side in args.sides}
    real: dict[str, list[tuple[float, tuple[int, int], GatysParams]]] = {q: [] for q in args.qualities}
    for _ in range(args.rounds):
        for side in args.sides:
            draft = GatysParams.for_quality("draft", network=args.network)
            probes[side].append(measure_throughput(net, draft, device="cpu", side=side))
        for quality in args.qualities:
            params = GatysParams.for_quality(quality, network=args.network)
            for content, style in images:
                start = time.perf_counter()
                run_gatys(content, [(style, 1.0)], params, net=net, device="cpu")
                real[quality].append((time.perf_counter() - start, content.size, params))

    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}, network {args.network}")  # fmt: skip
    print("| probe side | probe GFLOP/s | quality | real s (median) | estimated s | estimate / real |")
    print("|---|---|---|---|---|---|")
    for side, values in probes.items():
        flops = statistics.median(values)
        for quality, runs in real.items():
            seconds = statistics.median(r[0] for r in runs)
            estimated = statistics.median(estimate(p, size, "cpu", flops=flops).seconds for _, size, p in runs)
            print(
                f"| {side} | {flops / 1e9:.2f} | {quality} | {seconds:.1f} | {estimated:.1f} | {estimated / seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
