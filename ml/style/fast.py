"""Inference with a trained Johnson-style network (:class:`TransformerNet`) from a checkpoint.

Checkpoints are either ours (written by :func:`ml.style.train.train_fast`: a dict with ``"model"``,
``"optimizer"``, ``"step"``, ``"config"``) or a bare state dict from pytorch/examples'
fast_neural_style (its old ``running_mean``/``running_var`` instance-norm keys are dropped, as that
project does).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import BinaryIO

import torch
from PIL import Image

from ml.device import pick_device
from ml.style import color
from ml.style.imaging import check_image, fit_size, pad_to_multiple, resize, to_image, to_tensor
from ml.style.transformer_net import TransformerNet

DEFAULT_MAX_SIDE = 2048  # the 128-channel middle makes this net ~4× heavier than the presets'


def load_state(path: str | Path | BinaryIO) -> dict[str, torch.Tensor]:
    """The TransformerNet state dict stored in ``path`` (a file path or an open binary file; our
    checkpoint format or a bare state dict)."""
    data = torch.load(str(path) if isinstance(path, str | Path) else path, map_location="cpu", weights_only=True)
    state = data["model"] if isinstance(data, dict) and "model" in data else data
    return {k: v for k, v in state.items() if not re.search(r"in\d+\.running_(mean|var)$", k)}


class FastStylizer:
    """One trained style. Loads once; thread-safe; reuse per worker. CUDA: channels_last + float16 autocast."""

    def __init__(self, net: TransformerNet, device: torch.device | str | None = None) -> None:
        self.device = pick_device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(cls, path: str | Path | BinaryIO, device: torch.device | str | None = None) -> FastStylizer:
        net = TransformerNet()
        net.load_state_dict(load_state(path))
        return cls(net, device)

    def stylize_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in ``[0, 1]`` → same shape in ``[0, 1]`` (float32)."""
        padded, (height, width) = pad_to_multiple(image.to(self.device), 4)
        with self._lock, torch.inference_mode():
            x = padded * 255.0
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    out = self.net(x.contiguous(memory_format=torch.channels_last))
            else:
                out = self.net(x)
        return (out.float()[..., :height, :width] / 255.0).clamp(0, 1)

    def stylize(
        self, image: Image.Image, *, strength: float = 1.0, preserve_color: bool = False, max_side: int | None = None
    ) -> Image.Image:
        """Stylise ``image`` (RGB result, same size capped by ``max_side``, default :data:`DEFAULT_MAX_SIDE`).

        ``strength`` in ``[0, 1]`` mixes with the photo; ``preserve_color`` keeps the photo's chroma.
        """
        color.check_strength(strength)
        image = check_image(image)
        image = resize(image, fit_size(image.size, max_side or DEFAULT_MAX_SIDE))
        original = to_tensor(image, self.device)
        out = self.stylize_tensor(original)
        if preserve_color:
            out = color.keep_luminance(out, original)
        return to_image(color.blend(out, original, strength))
