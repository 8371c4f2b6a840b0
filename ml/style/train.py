"""Training a Johnson-style network for one style (Johnson, Alahi, Fei-Fei, ECCV 2016).

Perceptual loss on VGG16: content on ``relu2_2``, style (Gram matrices) on ``relu1_2``, ``relu2_2``,
``relu3_3``, ``relu4_3``; Adam; defaults as pytorch/examples (256 px crops, batch 4, lr 1e-3,
content 1e5, style 1e10, two epochs over COCO). Checkpoints are written atomically every
``checkpoint_every`` steps and at the end, and training resumes from one exactly: the model,
optimiser, step, and random state are restored and the data order is reproducible per epoch,
so 2 steps + resume + 1 step equals 3 steps in one go (on CPU).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ml.device import pick_device
from ml.images import open_image
from ml.style.imaging import check_image, resize, to_tensor
from ml.style.losses import gram_matrix
from ml.style.transformer_net import TransformerNet
from ml.style.vgg import VGGFeatures, load_vgg16

CONTENT_LAYER = "relu2_2"
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 2
    max_steps: int | None = None  # stop after this many optimiser steps in total (None: run all epochs)
    batch_size: int = 4
    image_size: int = 256
    style_size: int | None = None  # longest side of the style image (None: as loaded)
    lr: float = 1e-3
    content_weight: float = 1e5
    style_weight: float = 1e10
    tv_weight: float = 0.0
    checkpoint_every: int = 2000
    seed: int = 42


@dataclass(frozen=True)
class TrainProgress:
    step: int
    epoch: int
    content_loss: float
    style_loss: float
    loss: float
    elapsed: float


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    steps: int
    last_loss: float
    stopped: bool  # True when should_stop() ended training early (a checkpoint was still written)


class ContentFolder(Dataset[torch.Tensor]):
    """Every image under ``folder`` (recursive), resized on the short side and centre-cropped to ``size``²."""

    def __init__(self, folder: str | Path, size: int) -> None:
        self.paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise ValueError(f"No training images (jpg, png, webp, bmp) found under {folder}.")
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = open_image(self.paths[index])
        scale = self.size / min(image.size)
        image = resize(image, (max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))))
        left, top = (image.width - self.size) // 2, (image.height - self.size) // 2
        return to_tensor(image.crop((left, top, left + self.size, top + self.size)))[0]


class PerceptualLoss:
    """Johnson et al.'s loss with precomputed style Grams; ``__call__(output, content)`` on ``[0, 1]`` batches."""

    def __init__(self, vgg: VGGFeatures, style: torch.Tensor, config: TrainConfig) -> None:
        self.vgg, self.config = vgg, config
        self.layers = list(dict.fromkeys([CONTENT_LAYER, *STYLE_LAYERS]))
        with torch.no_grad():
            features = vgg(style, list(STYLE_LAYERS))
            self.style_grams = [gram_matrix(features[name]) for name in STYLE_LAYERS]

    def __call__(self, output: torch.Tensor, content: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(total, weighted content, weighted style)`` scalars."""
        out_features = self.vgg(output, self.layers)
        with torch.no_grad():
            target = self.vgg(content, [CONTENT_LAYER])[CONTENT_LAYER]
        c = self.config.content_weight * torch.nn.functional.mse_loss(out_features[CONTENT_LAYER], target)
        # sum() of tensors is a tensor (typeshed types it "Tensor | Literal[0]" for an empty input;
        # STYLE_LAYERS is never empty).
        s = cast(
            torch.Tensor,
            sum(
                torch.nn.functional.mse_loss(gram_matrix(out_features[n]), g.expand(output.shape[0], -1, -1))
                for n, g in zip(STYLE_LAYERS, self.style_grams, strict=True)
            ),
        )
        s = self.config.style_weight * s
        total = c + s
        if self.config.tv_weight:
            total = total + self.config.tv_weight * (
                (output[..., 1:, :] - output[..., :-1, :]).abs().mean()
                + (output[..., 1:] - output[..., :-1]).abs().mean()
            )
        return total, c, s


def train_step(
    net: TransformerNet, loss_fn: PerceptualLoss, optimizer: torch.optim.Optimizer, batch: torch.Tensor
) -> tuple[float, float, float]:
    """One optimiser step on ``batch`` (``(N, 3, S, S)`` in ``[0, 1]``); returns ``(loss, content, style)``."""
    optimizer.zero_grad(set_to_none=True)
    output = net(batch * 255.0) / 255.0
    total, c, s = loss_fn(output, batch)
    total.backward()
    optimizer.step()
    return float(total.detach()), float(c.detach()), float(s.detach())


def save_checkpoint(
    path: Path,
    net: TransformerNet,
    optimizer: torch.optim.Optimizer,
    step: int,
    epoch: int,
    config: TrainConfig,
    last_loss: float,
) -> None:
    """Write atomically (temp file + rename), so a crash never leaves a half checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save(
        {
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "epoch": epoch,
            "config": asdict(config),
            "last_loss": last_loss,
            "rng": torch.get_rng_state(),
        },
        tmp,
    )
    os.replace(tmp, path)


def train_fast(
    style_image: Image.Image | str | Path,
    content_dir: str | Path,
    checkpoint: str | Path,
    *,
    config: TrainConfig | None = None,
    resume: bool = True,
    vgg: VGGFeatures | None = None,
    device: torch.device | str | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a :class:`TransformerNet` for ``style_image`` on the images under ``content_dir``.

    Writes ``checkpoint`` (loadable by :meth:`ml.style.fast.FastStylizer.from_checkpoint`). With
    ``resume`` and an existing ``checkpoint``, training continues from it. ``vgg``: a loaded
    :func:`ml.style.vgg.load_vgg16` (``None`` loads the real weights; MissingWeightsError if absent).
    """
    config = config or TrainConfig()
    device = pick_device(device)
    # The seed (and a resumed run's saved RNG state) stay inside this call: the caller's CPU RNG is untouched.
    with torch.random.fork_rng(devices=[]):
        checkpoint = Path(checkpoint)
        torch.default_generator.manual_seed(config.seed)  # the CPU generator: CUDA ones are not forked
        vgg = (vgg if vgg is not None else load_vgg16(device=device)).to(device)
        style = check_image(open_image(style_image) if not isinstance(style_image, Image.Image) else style_image)
        if config.style_size:
            scale = config.style_size / max(style.size)
            style = resize(style, (max(16, round(style.width * scale)), max(16, round(style.height * scale))))
        loss_fn = PerceptualLoss(vgg, to_tensor(style, device), config)
        net = TransformerNet().to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
        step, last_loss = 0, float("nan")
        if resume and checkpoint.is_file():
            saved = torch.load(checkpoint, map_location=device, weights_only=True)
            net.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            step, last_loss = int(saved["step"]), float(saved["last_loss"])
            torch.set_rng_state(saved["rng"])
        net.train()
        data = ContentFolder(content_dir, config.image_size)
        batches_per_epoch = -(-len(data) // config.batch_size)
        start_epoch = step // batches_per_epoch
        total_steps = config.max_steps if config.max_steps is not None else config.epochs * batches_per_epoch
        started = time.perf_counter()
        stopped = False
        for epoch in range(start_epoch, config.epochs if config.max_steps is None else 1 << 30):
            if step >= total_steps or stopped:
                break
            # A seeded order per epoch lets a resumed run skip exactly the batches it already did.
            order = torch.Generator().manual_seed(config.seed + epoch)
            loader = DataLoader(data, batch_size=config.batch_size, shuffle=True, generator=order, num_workers=0)
            skip = step - epoch * batches_per_epoch
            for index, batch in enumerate(loader):
                if index < skip:
                    continue
                if step >= total_steps:
                    break
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                last_loss, c, s = train_step(net, loss_fn, optimizer, batch.to(device))
                step += 1
                if on_progress is not None:
                    on_progress(TrainProgress(step, epoch, c, s, last_loss, time.perf_counter() - started))
                if step % config.checkpoint_every == 0:
                    save_checkpoint(checkpoint, net, optimizer, step, step // batches_per_epoch, config, last_loss)
        save_checkpoint(checkpoint, net, optimizer, step, step // batches_per_epoch, config, last_loss)
        return TrainResult(checkpoint=checkpoint, steps=step, last_loss=last_loss, stopped=stopped)
