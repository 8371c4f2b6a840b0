"""Colour controls shared by every engine: keep the photo's colours, match colours, strength blend.

All functions take and return ``float32`` tensors ``(N, 3, H, W)`` with RGB values in ``[0, 1]``.
Colour preservation follows Gatys et al., "Controlling Perceptual Factors in Neural Style
Transfer" (CVPR 2017): either transfer luminance only and take chroma from the photo
(:func:`keep_luminance`), or recolour the style image to the photo's colour statistics before
stylising (:func:`match_color`, their "colour histogram matching", a linear map of mean and
covariance) or its exact per-channel variant (:func:`match_histograms`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# BT.601 analogue YUV, the space the tests measure chroma in. Rows map RGB → (Y, U, V).
_RGB_TO_YUV = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.14713, -0.28886, 0.436],
        [0.615, -0.51499, -0.10001],
    ]
)
_YUV_TO_RGB = torch.linalg.inv(_RGB_TO_YUV)


def _apply_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", matrix.to(image.device, image.dtype), image)


def rgb_to_yuv(image: torch.Tensor) -> torch.Tensor:
    """RGB ``[0, 1]`` → YUV (Y in ``[0, 1]``, U about ±0.436, V about ±0.615), same shape."""
    return _apply_matrix(_RGB_TO_YUV, image)


def yuv_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_yuv` (not clipped)."""
    return _apply_matrix(_YUV_TO_RGB, image)


def _same_size(reference: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if reference.shape[-2:] == like.shape[-2:]:
        return reference
    return F.interpolate(reference, size=like.shape[-2:], mode="bicubic", align_corners=False, antialias=True)


def keep_luminance(stylized: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Luminance from ``stylized``, chroma (U, V) from ``original`` (resized to match), clipped to ``[0, 1]``.

    This is the "preserve colour" switch: strokes and contrast of the painting, colours of the photo.
    """
    original = _same_size(original, stylized)
    yuv = rgb_to_yuv(stylized)
    yuv[:, 1:] = rgb_to_yuv(original)[:, 1:]
    return yuv_to_rgb(yuv).clamp(0, 1)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y channel of ``image`` repeated to 3 channels, shape ``(N, 3, H, W)``: a grey RGB image."""
    return rgb_to_yuv(image)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Grey version of ``source`` whose luminance mean/std match ``target``'s (Gatys 2017, eq. 5)."""
    y_source, y_target = rgb_to_yuv(source)[:, :1], rgb_to_yuv(target)[:, :1]
    y = (y_source - y_source.mean()) * (y_target.std() / y_source.std().clamp_min(1e-6)) + y_target.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def match_color(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Recolour ``source`` so its RGB mean and covariance equal ``target``'s; clipped to ``[0, 1]``.

    The linear map ``A = Σt^½ Σs^-½`` (symmetric square roots via eigendecomposition) is the one
    Gatys et al. use to recolour the style image before transfer.
    """

    def stats(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = image.reshape(3, -1).double()
        mean = pixels.mean(dim=1, keepdim=True)
        centred = pixels - mean
        cov = centred @ centred.T / pixels.shape[1] + eps * torch.eye(3, dtype=torch.float64, device=image.device)
        return mean, cov

    def sqrtm(matrix: torch.Tensor, power: float) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(matrix)
        return vectors @ torch.diag(values.clamp_min(eps) ** power) @ vectors.T

    results = []
    for image in source:
        mean_s, cov_s = stats(image)
        mean_t, cov_t = stats(target[0])
        transform = sqrtm(cov_t, 0.5) @ sqrtm(cov_s, -0.5)
        pixels = transform @ (image.reshape(3, -1).double() - mean_s) + mean_t
        results.append(pixels.reshape(image.shape).to(source.dtype))
    return torch.stack(results).clamp(0, 1)


def match_histograms(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-channel exact histogram matching of ``source`` to ``target`` (rank → quantile lookup)."""
    result = torch.empty_like(source)
    for n in range(source.shape[0]):
        for c in range(3):
            values = source[n, c].reshape(-1)
            reference = torch.sort(target[0, c].reshape(-1)).values
            ranks = torch.argsort(torch.argsort(values))
            # position of each rank in the reference's sorted values, so images of any sizes match
            index = (ranks.double() * (reference.numel() - 1) / max(values.numel() - 1, 1)).round().long()
            result[n, c] = reference[index].reshape(source.shape[-2:])
    return result


def blend(stylized: torch.Tensor, original: torch.Tensor, strength: float) -> torch.Tensor:
    """``strength`` × stylised + (1 − ``strength``) × original (resized to match); ``strength`` in ``[0, 1]``."""
    check_strength(strength)
    if strength >= 1.0:
        return stylized
    return torch.lerp(_same_size(original, stylized), stylized, strength)


def check_strength(strength: float) -> float:
    """Validate a style strength; raises ``ValueError`` outside ``[0, 1]``."""
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    return float(strength)
