"""Opening untrusted images safely: one loader for every engine.

Everything that reads an image in ``ml/`` goes through :func:`open_image`, so bad input fails the
same way everywhere: with :class:`ImageError` and a message a user can act on, never a crash or
a silent mis-decode.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 60_000_000  # a 60 MP photo decodes to ~180 MB of RGB; more is refused
MIN_SIDE = 16


class ImageError(ValueError):
    """The input is not an image we can use; the message says why, ``reason`` which kind of problem
    it is (``"format"``, ``"damaged"``, ``"size"``), so a caller can say what to do about it."""

    def __init__(self, message: str, reason: str = "format") -> None:
        super().__init__(message)
        self.reason = reason


def open_image(
    source: str | Path | bytes | BinaryIO,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: tuple[str, ...] | None = None,
    min_side: int = MIN_SIDE,
) -> Image.Image:
    """Decode ``source`` fully and return an RGB ``PIL.Image`` with EXIF orientation applied.

    ``formats`` restricts the decoders Pillow may try (e.g. ``("JPEG", "PNG", "WEBP")``), so a file
    is accepted for what it *is*, not for its name. Dimensions are checked from the header before
    any pixel is decoded; Pillow's decompression-bomb warning is treated as an error; truncated
    files fail on the full decode. Alpha is composited onto white, 16-bit and CMYK are converted.
    """
    if isinstance(source, bytes):
        if not source:
            raise ImageError("The file is empty.")
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(source, formats=list(formats) if formats else None)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"The image is too large ({width}×{height} = {width * height / 1e6:.0f} megapixels; "
                    f"the limit is {max_pixels / 1e6:.0f}).",
                    "size",
                )
            if min(width, height) < min_side:
                raise ImageError(
                    f"The image is too small ({width}×{height}); each side needs at least {min_side} pixels.",
                    "size",
                )
            image.load()
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(f"No such file: {exc.filename}") from exc
    except UnidentifiedImageError as exc:
        accepted = ", ".join(formats) if formats else "a common image format"
        raise ImageError(f"The file is not a readable image (accepted: {accepted}).") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("The image's dimensions are too large to decode safely.", "size") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated or corrupt data as OSError ("image file is truncated", ...).
        raise ImageError(f"The image file is damaged or truncated ({exc}).", "damaged") from exc
    image = ImageOps.exif_transpose(image)
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparent areas become white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the used range to 8 bits instead of clipping at 255.
        extrema = image.getextrema()  # single band: (min, max) numbers
        top = extrema[1] if isinstance(extrema, tuple) else 255
        high = max(int(top), 1) if isinstance(top, (int, float)) else 255
        image = image.point(lambda v: v * 255 / high if high > 255 else v).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
