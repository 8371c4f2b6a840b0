"""Render sample outputs of every style engine into a folder, for looking at.

    .venv/bin/python bench/render_style_samples.py [--out out/style_samples] [--contents 3]

Writes, per content photo: three presets and a blend, the arbitrary engine with three paintings
(guided upsampling, plus one plain-Lanczos comparison), and one Gatys render with a RANDOM-weight
VGG19 at 128 px (it only shows that the optimisation runs; real Gatys needs vgg19-dcbabe56.pth).
Also the 26-preset sheet for the first photo and the 26 thumbnails.
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

CONTENTS = ["tubingen.jpg", "sailboat.jpg", "brad_pitt.jpg", "golden_gate.jpg", "flowers.jpg"]
STYLES = ["starry_night.jpg", "wave.jpg", "the_scream.jpg"]
PRESET_PICKS = [3, 15, 19]


def main() -> int:
    from PIL import Image

    from ml.images import open_image
    from ml.style.arbitrary import ArbitraryStylizer
    from ml.style.gatys import GatysParams, load_vgg19, run_gatys
    from ml.style.presets import PRESETS, PresetStylizer, contact_sheet, render_thumbnail

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "style_samples")
    parser.add_argument("--contents", type=int, default=3, help="how many content photos (max 5)")
    parser.add_argument("--size", type=int, default=768, help="longest side of preset/arbitrary outputs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not TESTDATA.is_dir():
        print(f"test data {TESTDATA} is absent (set NSTSITE_TESTDATA)", file=sys.stderr)
        return 1

    presets, arbitrary = PresetStylizer(device="cpu"), ArbitraryStylizer(device="cpu")
    vgg = load_vgg19(random_weights=True, device="cpu")
    styles = {name: open_image(TESTDATA / "style" / "styles" / name) for name in STYLES}
    started = time.perf_counter()
    for content_name in CONTENTS[: args.contents]:
        stem = Path(content_name).stem
        photo = open_image(TESTDATA / "style" / "content" / content_name)
        photo.thumbnail((args.size, args.size), Image.Resampling.LANCZOS)
        photo.save(args.out / f"{stem}_0_original.jpg", quality=92)
        for preset_id in PRESET_PICKS:
            slug = PRESETS[preset_id].slug
            presets.stylize(photo, {preset_id: 1.0}).save(args.out / f"{stem}_preset{preset_id:02d}_{slug}.png")
        presets.stylize(photo, {3: 0.5, 19: 0.5}).save(args.out / f"{stem}_preset_blend_03_19.png")
        presets.stylize(photo, {19: 1.0}, preserve_color=True).save(args.out / f"{stem}_preset19_preserve_color.png")
        for style_name, style in styles.items():
            out = arbitrary.stylize(photo, style)
            out.save(args.out / f"{stem}_arbitrary_{Path(style_name).stem}.png")
        first_style = styles[STYLES[0]]
        arbitrary.stylize(photo, first_style, upsample="lanczos").save(
            args.out / f"{stem}_arbitrary_starry_lanczos.png"
        )
        arbitrary.stylize(photo, first_style, strength=0.5).save(args.out / f"{stem}_arbitrary_starry_strength05.png")
        params = GatysParams(size=128, iterations=30, optimizer="adam", init="content", style_weight=1e4)
        gatys = run_gatys(photo, [(first_style, 1.0)], params, net=vgg, device="cpu")
        gatys.save(args.out / f"{stem}_gatys_RANDOM_WEIGHTS_128px.png")
        print(f"{stem}: done ({time.perf_counter() - started:.0f} s)", flush=True)

    first = open_image(TESTDATA / "style" / "content" / CONTENTS[0])
    contact_sheet(presets, first, tile=200).save(args.out / "preset_sheet.png")
    thumbs = [render_thumbnail(presets, p.id, size=128) for p in PRESETS]
    strip = Image.new("RGB", (13 * 128, 2 * 128), "white")
    for i, thumb in enumerate(thumbs):
        strip.paste(thumb, ((i % 13) * 128, (i // 13) * 128))
    strip.save(args.out / "preset_thumbnails.png")
    print(f"wrote samples to {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
