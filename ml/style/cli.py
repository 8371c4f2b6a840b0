"""Command line: ``python -m ml.style {preset,presets,arbitrary,gatys,fast,train} ... --help``.

Examples::

    python -m ml.style preset photo.jpg --style 3 --size 1024 -o out.png
    python -m ml.style preset photo.jpg --style 3:0.7,12:0.3 --strength 0.8 --preserve-color -o out.png
    python -m ml.style presets photo.jpg -o sheet.png
    python -m ml.style arbitrary photo.jpg --style-image starry.jpg -o out.png
    python -m ml.style gatys photo.jpg --style-image starry.jpg --quality draft -o out.png
    python -m ml.style gatys photo.jpg --style-image starry.jpg --network vgg19 -o out.png
    python -m ml.style train --style-image starry.jpg --content-dir coco/ -o starry.pth
    python -m ml.style fast photo.jpg --checkpoint starry.pth -o out.png
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from ml.images import ImageError, open_image
from ml.style.gatys_params import DEFAULT_NETWORK, NETWORKS
from ml.weights import MissingWeightsError

if TYPE_CHECKING:
    from PIL import Image


def _style_spec(text: str) -> dict[int, float]:
    """``"3"`` or ``"3:0.7,12:0.3"`` or slugs (``"starry-blue:1"``) → ``{id: weight}``."""
    from ml.style.presets import PRESETS_BY_SLUG

    weights: dict[int, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, weight = part.partition(":")
        preset_id = PRESETS_BY_SLUG[key].id if key in PRESETS_BY_SLUG else int(key)
        weights[preset_id] = weights.get(preset_id, 0.0) + (float(weight) if weight else 1.0)
    return weights


def _common(
    parser: argparse.ArgumentParser, *, size_help: str = "longest side of the output (default: photo's)"
) -> None:
    parser.add_argument("image", help="content photo")
    parser.add_argument("-o", "--output", required=True, help="output image file (PNG, JPEG, ...)")
    parser.add_argument("--size", type=int, default=None, help=size_help)
    parser.add_argument("--strength", type=float, default=1.0, help="0..1, how much style (default 1)")
    parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.style", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preset", help="one of the 26 built-in styles, or a blend")
    _common(p)
    p.add_argument("--style", required=True, help="preset id or slug, or a blend like 3:0.7,12:0.3")

    p = sub.add_parser("presets", help="a sheet of all 26 presets on one photo")
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--tile", type=int, default=256, help="tile size in px (default 256)")
    p.add_argument("--columns", type=int, default=7)
    p.add_argument("--device", default=None)

    p = sub.add_parser("arbitrary", help="any picture as the style (Magenta arbitrary-style network)")
    _common(p)
    p.add_argument("--style-image", required=True)
    p.add_argument("--upsample", choices=["guided", "lanczos"], default="guided")

    p = sub.add_parser(
        "gatys", help="Gatys optimisation on MobileNet-v2 (offline, default) or VGG19 (needs vgg19-dcbabe56.pth)"
    )
    p.add_argument("image")
    p.add_argument("-o", "--output", required=True)
    p.add_argument(
        "--style-image", required=True, action="append", help="style image; repeat for several, optionally PATH:WEIGHT"
    )
    p.add_argument("--quality", choices=["draft", "standard", "best"], default="standard")
    p.add_argument("--network", choices=sorted(NETWORKS), default=DEFAULT_NETWORK, help="loss network")
    p.add_argument("--content-layers", help="comma-separated layer names of the network")
    p.add_argument("--style-layers", help="comma-separated layer names of the network")
    p.add_argument("--layer-preset", help="named style-layer set: gatys, fine, coarse, deep-weighted")
    p.add_argument("--size", type=int, help="longest side of the output")
    p.add_argument("--iterations", type=int)
    p.add_argument("--optimizer", choices=["lbfgs", "adam"])
    p.add_argument("--init", choices=["content", "noise", "style"])
    p.add_argument("--style-weight", type=float)
    p.add_argument("--content-weight", type=float)
    p.add_argument("--tv-weight", type=float)
    p.add_argument("--pooling", choices=["max", "avg"])
    p.add_argument("--color", choices=["none", "luminance", "histogram"], help="colour preservation")
    p.add_argument("--style-scale", type=float)
    p.add_argument("--levels", type=int, help="coarse-to-fine levels (default: from --quality)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default=None)
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="DEMO/TESTING ONLY (vgg19): an untrained VGG19; the result is NOT a real style transfer",
    )
    p.add_argument("--estimate-only", action="store_true", help="print the time/memory estimate and exit")

    p = sub.add_parser("fast", help="a trained Johnson-style network (.pth checkpoint)")
    _common(p)
    p.add_argument("--checkpoint", required=True)

    p = sub.add_parser("train", help="train a Johnson-style network (needs vgg16-397923af.pth)")
    p.add_argument("--style-image", required=True)
    p.add_argument("--content-dir", required=True, help="folder of training photos (e.g. COCO train2014)")
    p.add_argument("-o", "--output", required=True, help="checkpoint file (resumed if it exists)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--style-weight", type=float, default=1e10)
    p.add_argument("--content-weight", type=float, default=1e5)
    p.add_argument("--checkpoint-every", type=int, default=2000)
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--random-weights", action="store_true", help="DEMO/TESTING ONLY: untrained VGG16 loss network")
    return parser


def _style_images(specs: list[str]) -> list[tuple[Image.Image, float]]:
    styles: list[tuple[Image.Image, float]] = []
    for spec in specs:
        path, weight = spec, 1.0
        head, sep, tail = spec.rpartition(":")
        if sep and head and tail.replace(".", "", 1).isdigit():
            path, weight = head, float(tail)
        styles.append((open_image(path), weight))
    return styles


def run(args: argparse.Namespace) -> str:
    if args.command == "preset":
        from ml.style.presets import PresetStylizer

        image = PresetStylizer(args.device).stylize(
            open_image(args.image),
            _style_spec(args.style),
            strength=args.strength,
            preserve_color=args.preserve_color,
            max_side=args.size,
        )
    elif args.command == "presets":
        from ml.style.presets import PresetStylizer, contact_sheet

        image = contact_sheet(PresetStylizer(args.device), open_image(args.image), tile=args.tile, columns=args.columns)
    elif args.command == "arbitrary":
        from ml.device import pick_device
        from ml.style.arbitrary import ArbitraryStylizer, onnx_device

        # An explicit --device is taken as asked (an error if onnxruntime cannot run there);
        # the default follows the machine, like the app's engine.
        device = pick_device(args.device)
        image = ArbitraryStylizer(device if args.device else onnx_device(device)).stylize(
            open_image(args.image),
            open_image(args.style_image),
            strength=args.strength,
            preserve_color=args.preserve_color,
            max_side=args.size,
            upsample=args.upsample,
        )
    elif args.command == "fast":
        from ml.style.fast import FastStylizer

        image = FastStylizer.from_checkpoint(args.checkpoint, args.device).stylize(
            open_image(args.image), strength=args.strength, preserve_color=args.preserve_color, max_side=args.size
        )
    elif args.command == "gatys":
        return _run_gatys(args)
    else:
        return _run_train(args)
    image.save(args.output)
    return f"wrote {args.output} ({image.width}×{image.height})"


def _run_gatys(args: argparse.Namespace) -> str:
    from ml.device import pick_device
    from ml.style.gatys import GatysParams, Progress, estimate, load_network, run_gatys

    names = [
        "size",
        "iterations",
        "optimizer",
        "init",
        "style_weight",
        "content_weight",
        "tv_weight",
        "pooling",
        "color",
        "style_scale",
        "levels",
        "seed",
        "layer_preset",
    ]
    overrides: dict[str, object] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    for name in ("content_layers", "style_layers"):
        if getattr(args, name):
            overrides[name] = tuple(layer.strip() for layer in getattr(args, name).split(",") if layer.strip())
    params = GatysParams.for_quality(args.quality, network=args.network, **overrides)
    if args.random_weights and params.network != "vgg19":
        raise ValueError("--random-weights applies to --network vgg19 only (mobilenet-v2's weights ship offline)")
    device = pick_device(args.device)
    content = open_image(args.image)
    cost = estimate(params, content.size, device)
    print(f"estimate: {cost.seconds:.0f} s, peak {cost.peak_mib:.0f} MiB on {device}", file=sys.stderr)
    if args.estimate_only:
        return "estimate only"
    if args.random_weights:
        print(
            "WARNING: --random-weights: untrained VGG19, for demos/tests only; this is not real style transfer.",
            file=sys.stderr,
        )
    net = load_network(params.network, random_weights=args.random_weights, pooling=params.pooling, device=device)

    def report(p: Progress) -> None:
        print(
            f"\r[{p.iteration}/{p.total}] level {p.level + 1}/{p.levels} {p.size[0]}×{p.size[1]} "
            f"loss {p.loss:.4g} (content {p.content_loss:.3g}, style {p.style_loss:.3g}, tv {p.tv_loss:.3g}) "
            f"{p.elapsed:.0f} s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    image = run_gatys(content, _style_images(args.style_image), params, net=net, device=device, on_progress=report)
    print(file=sys.stderr)
    image.save(args.output)
    return f"wrote {args.output} ({image.width}×{image.height})"


def _run_train(args: argparse.Namespace) -> str:
    from ml.style.train import TrainConfig, TrainProgress, train_fast
    from ml.style.vgg import load_vgg16

    config = TrainConfig(
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        image_size=args.image_size,
        style_weight=args.style_weight,
        content_weight=args.content_weight,
        checkpoint_every=args.checkpoint_every,
    )
    vgg = load_vgg16(random_weights=args.random_weights, device=args.device) if args.random_weights else None

    def report(p: TrainProgress) -> None:
        if p.step % 10 == 0:
            print(
                f"step {p.step} epoch {p.epoch} loss {p.loss:.4g} (content {p.content_loss:.3g}, "
                f"style {p.style_loss:.3g}) {p.elapsed:.0f} s",
                file=sys.stderr,
            )

    result = train_fast(
        args.style_image,
        args.content_dir,
        args.output,
        config=config,
        resume=not args.no_resume,
        vgg=vgg,
        device=args.device,
        on_progress=report,
    )
    return f"wrote {result.checkpoint} after {result.steps} steps (loss {result.last_loss:.4g})"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        message = run(args)
    except (ImageError, MissingWeightsError, ValueError, MemoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(f"{message} in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
