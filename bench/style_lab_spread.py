"""Does the style lab's α/β axis span photo → painting? Content and style loss of each column.

    .venv/bin/python bench/style_lab_spread.py                      # default grid columns vs a wide sweep
    .venv/bin/python bench/style_lab_spread.py --ratios 1e-5 1e-3 1e-1 10 --depth 3 --strip /tmp/strip.jpg

Each cell is rendered exactly as the lab renders it (``ml.style.lab.run_lab``: the lab's cell size and
iterations, L-BFGS from the photo) and scored with the *unweighted* normalised losses of the network
(``ml.style.gatys.Objective`` with α = β = 1): ``content`` is 0 for the photo itself and grows as the
picture leaves it; ``style`` is the Gram distance to the painting. A useful axis runs from a content
loss near the photo's to one near a fully stylised image. ``--strip`` writes the cells side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))

from PIL import Image  # noqa: E402

from ml.style.gatys import GatysParams, Objective  # noqa: E402
from ml.style.gatys_params import network_spec  # noqa: E402
from ml.style.lab import LabCell, run_lab  # noqa: E402
from ml.style.networks import load_network  # noqa: E402

PAIRS = [("tubingen.jpg", "starry_night.jpg"), ("golden_gate.jpg", "the_scream.jpg")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", default="mobilenet-v2")
    parser.add_argument("--ratios", nargs="+", type=float, default=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--strip", type=Path, help="write the first pair's cells side by side here")
    args = parser.parse_args()

    net = load_network(args.network, device="cpu")
    spec = network_spec(args.network)
    layers = spec.style_depth[: args.depth]
    cells = [LabCell(0, i, args.depth, ratio, layers) for i, ratio in enumerate(args.ratios)]
    rows: dict[float, list[dict[str, float]]] = {ratio: [] for ratio in args.ratios}
    strip: list[Image.Image] = []
    for number, (content_name, style_name) in enumerate(PAIRS):
        content = Image.open(TESTDATA / "style" / "content" / content_name).convert("RGB")
        style = Image.open(TESTDATA / "style" / "styles" / style_name).convert("RGB")
        scoring = GatysParams.for_quality("draft", network=args.network, size=args.size, style_layers=layers)
        objective = Objective(content, [(style, 1.0)], replace(scoring, content_weight=1.0, style_weight=1.0), net=net)
        photo = objective(content)
        for cell, image in run_lab(content, style, cells, network=args.network, net=net, size=args.size,
                                   iterations=args.iterations):  # fmt: skip
            score = objective(image)
            rows[cell.ratio].append({"content": score["content"], "style": score["style"] / max(photo["style"], 1e-12)})
            if number == 0 and args.strip:
                strip.append(image)
    print(
        f"# {args.network}, depth {args.depth}, {args.size} px, {args.iterations} iterations, {len(PAIRS)} pairs (median)"
    )
    print("| α/β | content loss (photo = 0) | style loss ÷ the photo's |")
    print("|---|---|---|")
    for ratio, scores in rows.items():
        content_loss = statistics.median(s["content"] for s in scores)
        style_loss = statistics.median(s["style"] for s in scores)
        print(f"| {ratio:g} | {content_loss:.3f} | {style_loss:.3f} |")
    if args.strip and strip:
        width = sum(i.width for i in strip)
        sheet = Image.new("RGB", (width, max(i.height for i in strip)), "white")
        x = 0
        for image in strip:
            sheet.paste(image, (x, 0))
            x += image.width
        sheet.save(args.strip, quality=90)


if __name__ == "__main__":
    main()
