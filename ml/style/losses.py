"""Perceptual losses shared by Gatys optimisation and fast-network training."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by layer size: ``G = F Fᵀ / (C·H·W)``.

    ``features``: ``(N, C, H, W)`` → ``(N, C, C)``, computed in float32 (half precision overflows on
    large layers). Normalising by the layer size makes the style loss comparable across layers
    and image sizes, so one style weight works at 256 px and at 2048 px.
    """
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w).float()
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between activations (scalar)."""
    return F.mse_loss(features.float(), target.float())


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the Gram matrix of ``features`` and ``target_gram`` ``(N or 1, C, C)``."""
    gram = gram_matrix(features)
    return F.mse_loss(gram, target_gram.expand_as(gram))


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels of ``(N, C, H, W)`` (scalar); penalises noise."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()
