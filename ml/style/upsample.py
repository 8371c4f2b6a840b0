"""Guided upsampling: carry a low-resolution stylisation to full resolution along the photo's edges.

Feed-forward networks with a fixed input size (the arbitrary-style transformer works at 384 px)
give soft results when simply scaled up. The fast guided filter (He et al. 2013; Wu et al. 2018,
"Fast End-to-End Trainable Guided Filter") fits, in every small low-resolution window, a linear
map ``stylised ≈ a · guide + b`` from the photo's luminance to each output channel, upsamples the
smooth coefficient fields ``a, b`` bilinearly, and applies them to the full-resolution luminance.

Used as-is that smooths away the stylisation's own fine strokes (they are not a function of the
photo's luminance), so only the *missing band* is taken from the model: the result is the
stylisation upscaled with bicubic interpolation plus ``a · (guide_high − upscaled guide_low)``, the
photo's high-frequency detail mapped through the local contrast ``a`` the stylisation applied.
Colours and stroke texture come from the stylisation; sharp edges come from the photo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ml.style.color import rgb_to_yuv


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a ``(2r+1)²`` window; near the border, over the part of the window inside the image."""
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def guided_upsample(
    low_output: torch.Tensor,
    low_guide: torch.Tensor,
    high_guide: torch.Tensor,
    *,
    radius: int = 1,
    eps: float = 1e-4,
) -> torch.Tensor:
    """Upsample ``low_output`` to ``high_guide``'s size, guided by the photo's luminance.

    ``low_output``: ``(N, 3, h, w)`` stylisation in ``[0, 1]``; ``low_guide``: the photo at ``(h, w)``;
    ``high_guide``: the photo at the target ``(H, W)``; all RGB float32 in ``[0, 1]``. ``radius`` is
    the window radius in low-resolution pixels (1 keeps most stroke texture), ``eps`` regularises
    ``a`` (larger → closer to a plain bicubic upscale). Returns ``(N, 3, H, W)`` clipped to ``[0, 1]``.
    """
    size = high_guide.shape[-2:]
    guide = rgb_to_yuv(low_guide)[:, :1]
    mean_i = _box(guide, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    mean_p = _box(low_output, radius)
    cov_ip = _box(guide * low_output, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    a = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
    base = F.interpolate(low_output, size=size, mode="bicubic", align_corners=False)
    guide_up = F.interpolate(guide, size=size, mode="bicubic", align_corners=False)
    missing_detail = rgb_to_yuv(high_guide)[:, :1] - guide_up  # what downscaling the photo removed
    return (base + a * missing_detail).clamp(0, 1)
