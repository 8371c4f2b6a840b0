"""Seconds per Gatys iteration of each loss network at 256 / 384 / 512 px; prints a Markdown table.

    .venv/bin/python bench/gatys_networks_bench.py                 # 1 thread, 3 timed iterations per cell
    .venv/bin/python bench/gatys_networks_bench.py --threads 2 --iterations 5

Each network runs its own draft settings (layers, L-BFGS, reflect margin for MobileNet-v2) on a
real photo resized to N × ¾N. VGG19 uses RANDOM weights when its ImageNet file is absent: the
speed does not depend on the weights' values. The two networks are measured interleaved (round by
round, same size) so that a busy machine slows both alike; the ratio column is the figure to trust.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per cell and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", default="256,384,512")
    args = parser.parse_args()

    import torch

    from ml.images import open_image
    from ml.style.gatys import GatysParams, load_network, run_gatys
    from ml.style.networks import available

    torch.set_num_threads(args.threads)
    photo = open_image(TESTDATA / "style" / "content" / "tubingen.jpg")
    painting = open_image(TESTDATA / "style" / "styles" / "starry_night.jpg")
    vgg_real = available("vgg19")[0]
    nets = {
        "mobilenet-v2": load_network("mobilenet-v2", device="cpu"),
        "vgg19": load_network("vgg19", random_weights=not vgg_real, device="cpu"),
    }

    def per_iteration(name: str, side: int) -> float:
        params = GatysParams.for_quality("draft", network=name, size=side, iterations=args.iterations + 1)
        stamps: list[float] = []
        run_gatys(
            photo,
            [(painting, 1.0)],
            params,
            net=nets[name],
            device="cpu",
            on_progress=lambda p: stamps.append(p.elapsed),
        )
        return (stamps[-1] - stamps[0]) / (len(stamps) - 1)  # without target computation and the first step

    load = os.getloadavg()[0]
    print(f"Machine: {platform.processor() or 'CPU'}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
          f"{args.threads} thread(s), load average {load:.1f} at start; VGG19 weights: "
          f"{'ImageNet' if vgg_real else 'random (timing only)'}\n")  # fmt: skip
    print("| size (px) | mobilenet-v2 s/it | vgg19 s/it | vgg19 ÷ mobilenet-v2 | draft (100 it) on mobilenet-v2 |")
    print("|---|---|---|---|---|")
    for side in (int(s) for s in args.sizes.split(",")):
        times: dict[str, list[float]] = {name: [] for name in nets}
        ratios = []
        for _ in range(args.rounds):
            round_times = {name: per_iteration(name, side) for name in nets}
            for name, value in round_times.items():
                times[name].append(value)
            ratios.append(round_times["vgg19"] / round_times["mobilenet-v2"])
        mobile, vgg = statistics.median(times["mobilenet-v2"]), statistics.median(times["vgg19"])
        print(
            f"| {side}×{side * 3 // 4} | {mobile:.2f} | {vgg:.2f} | {statistics.median(ratios):.1f}× | "
            f"≈ {100 * mobile:.0f} s |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
