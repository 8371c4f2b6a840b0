"""Gatys on the offline loss network (MobileNet-v2) for every content photo × painting; one contact sheet.

    .venv/bin/python bench/gatys_contact_sheet.py                       # 12 × 11 at 192 px, 60 iterations
    .venv/bin/python bench/gatys_contact_sheet.py --size 384 --iterations 100 --contents tubingen,chicago

Rows are the content photos (first column: the photo), columns the paintings (first row: the
painting). Writes ``test-artifacts/gatys-contact-sheet.jpg`` (and ``--docs`` a copy in docs/img/).
Prints seconds per render. Runs on one thread so it can share a busy machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="mobilenet-v2")
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--contents", help="comma-separated file stems (default: all)")
    parser.add_argument("--styles", help="comma-separated file stems (default: all)")
    parser.add_argument("--tile", type=int, default=160)
    parser.add_argument("-o", "--output", default=str(ROOT / "test-artifacts" / "gatys-contact-sheet.jpg"))
    parser.add_argument("--docs", action="store_true", help="also save docs/img/gatys-contact-sheet.jpg")
    args = parser.parse_args()

    import torch
    from PIL import Image, ImageDraw, ImageOps

    from ml.images import open_image
    from ml.style.gatys import GatysParams, load_network, run_gatys

    torch.set_num_threads(1)

    def pick(folder: str, wanted: str | None) -> list[Path]:
        files = sorted((TESTDATA / "style" / folder).glob("*.jpg"))
        if wanted:
            stems = wanted.split(",")
            files = [f for f in files if f.stem in stems]
        return files

    contents, styles = pick("content", args.contents), pick("styles", args.styles)
    params = GatysParams.for_quality("draft", network=args.network, size=args.size, iterations=args.iterations)
    net = load_network(args.network, device="cpu")  # the sheet is a CPU run (one thread, above)
    tile, label = args.tile, 16
    sheet = Image.new("RGB", ((len(styles) + 1) * tile, (len(contents) + 1) * (tile + label)), "white")
    draw = ImageDraw.Draw(sheet)

    def put(image: Image.Image, column: int, row: int, text: str) -> None:
        x, y = column * tile, row * (tile + label)
        sheet.paste(ImageOps.fit(image, (tile, tile), Image.Resampling.LANCZOS), (x, y))
        draw.text((x + 3, y + tile + 2), text[:24], fill="black")

    for j, style_path in enumerate(styles, start=1):
        put(open_image(style_path), j, 0, style_path.stem)
    seconds = []
    for i, content_path in enumerate(contents, start=1):
        content = open_image(content_path)
        put(content, 0, i, content_path.stem)
        for j, style_path in enumerate(styles, start=1):
            start = time.perf_counter()
            out = run_gatys(content, [(open_image(style_path), 1.0)], params, net=net, device="cpu")
            seconds.append(time.perf_counter() - start)
            put(out, j, i, "")
            print(f"{content_path.stem} × {style_path.stem}: {seconds[-1]:.1f} s", flush=True)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.output, quality=88)  # after every row, so a long run can be looked at early
    print(f"| renders | {len(seconds)} | mean s/render | {sum(seconds) / len(seconds):.1f} |")
    print(f"wrote {args.output}")
    if args.docs:
        sheet.save(ROOT / "docs" / "img" / "gatys-contact-sheet.jpg", quality=80)


if __name__ == "__main__":
    main()
