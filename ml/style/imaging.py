"""PIL ↔ tensor conversion and size handling shared by every style engine.

Tensors here are ``float32`` of shape ``(1, 3, H, W)`` with values in ``[0, 1]`` (RGB), unless a
docstring says otherwise. Input checks raise :class:`ml.images.ImageError`, the same error that
:func:`ml.images.open_image` raises, so callers handle one exception type for bad images.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ml.images import ImageError, to_rgb

MIN_SIDE = 16  # below this the networks' downsampling and reflect padding stop making sense
MAX_SIDE = 8192  # a hard ceiling for any engine; callers pass smaller max_side for their budget


def check_image(image: Image.Image, *, min_side: int = MIN_SIDE) -> Image.Image:
    """Return ``image`` as 8-bit RGB, or raise :class:`ImageError` if it cannot be stylised.

    Accepts any Pillow mode (grey, palette, RGBA, 16-bit...), converted by :func:`ml.images.to_rgb`.
    """
    if not isinstance(image, Image.Image):
        raise ImageError(f"Expected a PIL image, got {type(image).__name__}.")
    width, height = image.size
    if min(width, height) < min_side:
        raise ImageError(
            f"The image is too small ({width}×{height}); each side needs at least {min_side} pixels.", "size"
        )
    if max(width, height) > MAX_SIDE:
        raise ImageError(
            f"The image is too large ({width}×{height}); the longest side may be at most {MAX_SIDE}.", "size"
        )
    return to_rgb(image)


def fit_size(size: tuple[int, int], max_side: int | None, *, min_side: int = MIN_SIDE) -> tuple[int, int]:
    """Scale ``(width, height)`` down (never up) so the longest side is at most ``max_side``."""
    width, height = size
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(min_side, round(width * scale)), max(min_side, round(height * scale))


def scale_to(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """Scale ``(width, height)`` up or down so the longest side is exactly ``longest``."""
    width, height = size
    scale = longest / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize with Lanczos (a no-op when the size already matches)."""
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def to_tensor(image: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB PIL image → ``float32`` tensor ``(1, 3, H, W)`` in ``[0, 1]`` on ``device``."""
    array = np.asarray(to_rgb(image), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def to_image(tensor: torch.Tensor) -> Image.Image:
    """Tensor ``(1, 3, H, W)`` or ``(3, H, W)`` with values in ``[0, 1]`` (clipped) → RGB PIL image."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    array = tensor.detach().float().clamp(0, 1).mul(255).add(0.5).to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).cpu().numpy(), "RGB")


def pad_to_multiple(tensor: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad ``(N, C, H, W)`` on the bottom/right to multiples of ``multiple``.

    Returns the padded tensor and the original ``(H, W)`` to crop back to. Networks that
    downsample by ``multiple`` and upsample again only restore the exact size on such inputs.
    """
    height, width = tensor.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        tensor = torch.nn.functional.pad(tensor, (0, pad_w, 0, pad_h), mode="reflect")
    return tensor, (height, width)
