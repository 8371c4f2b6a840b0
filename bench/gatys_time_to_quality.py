"""Gatys time-to-quality: the coarse-to-fine preset against 400 single-scale iterations, per loss network.

    .venv/bin/python bench/gatys_time_to_quality.py                        # both networks, 3 pairs, 5 rounds
    .venv/bin/python bench/gatys_time_to_quality.py --networks mobilenet-v2 --rounds 3 --size 384
    .venv/bin/python bench/gatys_time_to_quality.py --docs                 # also write docs/img/gatys-ttq.*

"single" is the standard preset on one level, ``replace(preset, levels=1, iterations=400)`` with early
stopping off: the same losses, optimiser and clamped scoring, so only the schedule differs (the product's
old single-scale path also left the image unclamped; see docs/benchmarks.md). "schedule" is
``GatysParams.for_quality("standard")`` as the product runs it (coarse-to-fine, early stop). Both at ``--size`` (the network's standard size unless given). One loss for both: the
single-scale objective at the output size (content + style + TV, the preset's weights) evaluated on
the *image* a schedule would return if stopped there (clamped to [0, 1], 8-bit), every ``--every``
iterations; coarse levels' images are scaled up to the output size for that. The time spent on these
evaluations is subtracted from the run's clock. Target: the schedule's image reaches the single run's
final loss in <= 0.5x its time.

The two schedules run interleaved (pair by pair, alternating which goes first, round by round), so
a busy machine slows both alike: the ratios are the figures to trust. VGG19 uses RANDOM weights when
its ImageNet file is absent (say so when quoting): the loss landscape differs from the real network's.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))

from PIL import Image  # noqa: E402

from ml.style.gatys import GatysParams, Objective, Progress, run_gatys  # noqa: E402
from ml.style.networks import LossNetwork  # noqa: E402

PAIRS = "tubingen:starry_night,golden_gate:the_scream,sailboat:wave"


@dataclass
class Run:
    seconds: float  # wall time of the render, evaluation overhead excluded
    loss: float  # objective of the returned image
    curve: list[tuple[int, int, float, float]]  # (iteration, level, seconds, loss); level -1: the result
    image: Image.Image

    def reaches(self, target: float) -> float | None:
        """Seconds at the first evaluated point whose loss is <= ``target`` (the final image counts)."""
        for _, _, seconds, loss in self.curve:
            if loss <= target:
                return seconds
        return self.seconds if self.loss <= target else None


def render(
    params: GatysParams, net: LossNetwork, objective: Objective, photo: Image.Image, painting: Image.Image, every: int
) -> Run:
    """One render, scoring the image it would return every ``every`` iterations (not on its clock)."""
    curve: list[tuple[int, int, float, float]] = []
    overhead = 0.0

    def on_progress(progress: Progress) -> None:
        nonlocal overhead
        if progress.preview is None:
            return
        start = time.perf_counter()
        loss = objective(progress.preview)["loss"]
        curve.append((progress.iteration, progress.level, progress.elapsed - overhead, loss))
        overhead += time.perf_counter() - start

    start = time.perf_counter()
    image = run_gatys(photo, [(painting, 1.0)], params, net=net, on_progress=on_progress, preview_every=every)
    seconds = time.perf_counter() - start - overhead
    loss = objective(image)["loss"]
    curve.append((curve[-1][0] if curve else 0, -1, seconds, loss))
    return Run(seconds, loss, curve, image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", default="mobilenet-v2,vgg19")
    parser.add_argument("--pairs", default=PAIRS, help="photo:painting,... (file stems in testdata/style)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=None, help="output size for every network (default: its preset)")
    parser.add_argument("--vgg19-size", type=int, default=None, help="override --size for vgg19 (it is ~10x slower)")
    parser.add_argument("--iterations", type=int, default=400, help="single-scale iterations (the reference)")
    parser.add_argument("--every", type=int, default=10, help="evaluate the objective every N iterations")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--docs", action="store_true", help="write docs/img/gatys-ttq.csv/.png and a side-by-side")
    args = parser.parse_args()

    import torch

    from ml.images import open_image
    from ml.style.gatys import load_network
    from ml.style.networks import available

    torch.set_num_threads(args.threads)
    pairs = []
    for pair in args.pairs.split(","):
        photo, painting = pair.split(":")
        pairs.append(
            (
                f"{photo} × {painting}",
                open_image(TESTDATA / "style" / "content" / f"{photo}.jpg"),
                open_image(TESTDATA / "style" / "styles" / f"{painting}.jpg"),
            )
        )
    vgg_real = available("vgg19")[0]
    print(
        f"Machine: {platform.processor() or 'CPU'}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
        f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f} at start; VGG19 weights: "
        f"{'ImageNet' if vgg_real else 'RANDOM (STYLE_GATYS_RANDOM_WEIGHTS-style, not the real network)'}\n"
    )
    rows: list[dict[str, object]] = []
    results: dict[tuple[str, str], list[tuple[Run, Run]]] = {}
    for name in args.networks.split(","):
        net = load_network(name, random_weights=name == "vgg19" and not vgg_real)
        size = (args.vgg19_size if name == "vgg19" else None) or args.size
        sized = {"size": size} if size else {}
        schedule = GatysParams.for_quality("standard", network=name, **sized)
        single = replace(schedule, levels=1, iterations=args.iterations, plateau_tolerance=0.0)
        print(
            f"{name} at {schedule.size} px. single: {single.iterations} its; schedule: levels "
            f"{schedule.level_sizes()} px, {schedule.level_iterations()} its, early stop "
            f"{schedule.plateau_tolerance:g} over {schedule.plateau_patience}",
            flush=True,
        )

        objectives = {label: Objective(photo, [(painting, 1.0)], schedule, net=net) for label, photo, painting in pairs}

        for round_ in range(args.rounds):
            for index, (label, photo, painting) in enumerate(pairs):
                first_single = (round_ + index) % 2 == 0
                order = ["single", "schedule"] if first_single else ["schedule", "single"]
                done = {
                    kind: render(
                        single if kind == "single" else schedule, net, objectives[label], photo, painting, args.every
                    )
                    for kind in order
                }
                results.setdefault((name, label), []).append((done["single"], done["schedule"]))
                for kind in order:
                    for iteration, level, seconds, loss in done[kind].curve:
                        rows.append(
                            {"network": name, "pair": label, "round": round_, "schedule": kind,
                             "iteration": iteration, "level": level, "seconds": f"{seconds:.3f}", "loss": f"{loss:.6g}"}
                        )  # fmt: skip
                s, c = done["single"], done["schedule"]
                reach = c.reaches(s.loss)
                print(
                    f"  round {round_ + 1} {label}: single {s.seconds:.1f} s loss {s.loss:.4g}; schedule "
                    f"{c.seconds:.1f} s loss {c.loss:.4g}; reaches it at "
                    f"{'never' if reach is None else f'{reach / s.seconds:.2f}×'}",
                    flush=True,
                )
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}\n")
    print(
        f"| network | pair | size | single {args.iterations}: final loss (best on the way) | schedule: loss "
        "(÷ single final) | schedule time ÷ single | schedule reaches single's final ÷ single time "
        "| … single's best ÷ single time | rounds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")

    def ratio(reached: float | None, single: Run) -> float:
        return float("inf") if reached is None else reached / single.seconds

    for (name, label), runs in results.items():
        loss_single = statistics.median(s.loss for s, _ in runs)
        best_single = statistics.median(min(p[3] for p in s.curve) for s, _ in runs)
        loss_schedule = statistics.median(c.loss for _, c in runs)
        whole = statistics.median(c.seconds / s.seconds for s, c in runs)
        to_final = statistics.median(ratio(c.reaches(s.loss), s) for s, c in runs)
        to_best = statistics.median(ratio(c.reaches(min(p[3] for p in s.curve)), s) for s, c in runs)
        size = runs[0][0].image.size
        print(
            f"| {name} | {label} | {size[0]}×{size[1]} | {loss_single:.4g} ({best_single:.4g}) | {loss_schedule:.4g} "
            f"({loss_schedule / loss_single:.2f}×) | {whole:.2f}× | {to_final:.2f}× | {to_best:.2f}× | {len(runs)} |"
        )
    if args.docs:
        write_docs(rows, results, args.iterations)
    return 0


def write_docs(
    rows: list[dict[str, object]], results: dict[tuple[str, str], list[tuple[Run, Run]]], iterations: int
) -> None:
    """docs/img/gatys-ttq-<networks>.csv, .png (if matplotlib is installed) and -side-by-side.jpg."""
    from PIL import Image, ImageDraw

    networks = list(dict.fromkeys(n for n, _ in results))
    stem = ROOT / "docs" / "img" / f"gatys-ttq-{'-'.join(networks)}"
    with stem.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    # The side-by-side: the first pair of the first network, round 1.
    (name, label), runs = next(iter(results.items()))
    single, schedule = runs[0]
    left, right = single.image, schedule.image
    sheet = Image.new("RGB", (left.width + right.width + 8, left.height + 24), "white")
    sheet.paste(left, (0, 24))
    sheet.paste(right, (left.width + 8, 24))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 6), f"single-scale {iterations} its: {single.seconds:.0f} s, loss {single.loss:.3g}", fill="black")
    draw.text((left.width + 12, 6), f"coarse-to-fine: {schedule.seconds:.0f} s, loss {schedule.loss:.3g}", fill="black")
    sheet.save(f"{stem}-side-by-side.jpg", quality=90)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot, the CSV has the curves")
        return
    figure, axes = plt.subplots(1, len(networks), figsize=(6 * len(networks), 4.5), squeeze=False)
    for axis, name in zip(axes[0], networks, strict=True):
        for index, ((network, label), runs) in enumerate(results.items()):
            if network != name:
                continue
            single, schedule = runs[0]  # round 1; axes in units of the single run, so pairs share a scale
            for run, style, kind in ((single, "-", f"single-scale {iterations}"), (schedule, "--", "coarse-to-fine")):
                axis.plot(
                    [p[2] / single.seconds for p in run.curve],
                    [p[3] / single.loss for p in run.curve],
                    style,
                    color=f"C{index % 10}",
                    label=f"{label}, {kind}",
                )
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.axvline(0.5, color="grey", linewidth=0.8, linestyle=":")
        axis.set_yscale("log")
        axis.set_ylim(0.5, 20)
        axis.set_xlabel(f"seconds ÷ single-scale {iterations} iterations' time")
        axis.set_ylabel(f"loss ÷ single-scale {iterations} iterations' final loss")
        axis.set_title(name)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(stem.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
