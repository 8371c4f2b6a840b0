"""Johnson-style networks: shapes, a training step lowers the loss, checkpoints round-trip and resume exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.images import open_image
from ml.style.fast import FastStylizer
from ml.style.imaging import to_tensor
from ml.style.train import PerceptualLoss, TrainConfig, train_fast, train_step
from ml.style.transformer_net import TransformerNet
from ml.style.vgg import load_vgg16
from ml.weights import MissingWeightsError

TINY = TrainConfig(batch_size=2, image_size=32, max_steps=3, checkpoint_every=1, seed=3)


@pytest.fixture(scope="module")
def vgg16():
    return load_vgg16(random_weights=True, device="cpu")


@pytest.fixture(scope="module")
def content_dir(testdata: Path, tmp_path_factory) -> Path:
    """Four small copies of real photos, so each training step decodes tiny files."""
    folder = tmp_path_factory.mktemp("content")
    for name in ["tubingen.jpg", "sailboat.jpg", "chicago.jpg", "flowers.jpg"]:
        image = open_image(testdata / "style" / "content" / name)
        image.thumbnail((64, 64))
        image.save(folder / name.replace(".jpg", ".png"))
    return folder


@pytest.fixture(scope="module")
def style(testdata: Path) -> Image.Image:
    image = open_image(testdata / "style" / "styles" / "starry_night.jpg")
    image.thumbnail((64, 64))
    return image


def test_transformer_net_keeps_the_size_and_has_the_published_parameter_count():
    net = TransformerNet()
    assert net(torch.rand(1, 3, 32, 48) * 255).shape == (1, 3, 32, 48)
    assert sum(p.numel() for p in net.parameters()) == 1_679_235  # as pytorch/examples' TransformerNet


def test_a_training_step_on_random_vgg16_lowers_the_loss(vgg16, style):
    torch.manual_seed(0)
    net = TransformerNet()
    config = TrainConfig(content_weight=1e5, style_weight=1e10)
    loss_fn = PerceptualLoss(vgg16, to_tensor(style), config)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        before = float(loss_fn(net(batch * 255) / 255, batch)[0])
    train_step(net, loss_fn, optimizer, batch)
    with torch.no_grad():
        after = float(loss_fn(net(batch * 255) / 255, batch)[0])
    assert after < before


def test_checkpoints_round_trip_and_resume_gives_the_same_weights(vgg16, style, content_dir, tmp_path):
    straight = train_fast(style, content_dir, tmp_path / "straight.pth", config=TINY, vgg=vgg16, device="cpu")
    assert straight.steps == 3
    two = TrainConfig(**{**TINY.__dict__, "max_steps": 2})
    first = train_fast(style, content_dir, tmp_path / "resumed.pth", config=two, vgg=vgg16, device="cpu")
    assert first.steps == 2
    resumed = train_fast(style, content_dir, tmp_path / "resumed.pth", config=TINY, vgg=vgg16, device="cpu")
    assert resumed.steps == 3
    a = torch.load(straight.checkpoint, weights_only=True)["model"]
    b = torch.load(resumed.checkpoint, weights_only=True)["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)

    stylizer = FastStylizer.from_checkpoint(straight.checkpoint, device="cpu")
    assert all(torch.equal(stylizer.net.state_dict()[k].cpu(), a[k]) for k in a)
    photo = Image.open(next(content_dir.iterdir())).convert("RGB")
    out = stylizer.stylize(photo)
    assert out.size == photo.size
    faded = stylizer.stylize(photo, strength=0.0)
    assert np.abs(np.asarray(faded, dtype=np.int16) - np.asarray(photo, dtype=np.int16)).max() <= 1


def test_should_stop_ends_training_with_a_checkpoint(vgg16, style, content_dir, tmp_path):
    config = TrainConfig(**{**TINY.__dict__, "max_steps": 50, "checkpoint_every": 1000})
    result = train_fast(
        style, content_dir, tmp_path / "stopped.pth", config=config, vgg=vgg16, device="cpu", should_stop=lambda: True
    )
    assert result.stopped and result.steps == 0 and result.checkpoint.is_file()


def test_an_empty_content_folder_is_a_clear_error(vgg16, style, tmp_path):
    with pytest.raises(ValueError, match="No training images"):
        train_fast(style, tmp_path, tmp_path / "x.pth", config=TINY, vgg=vgg16, device="cpu")


def test_training_without_vgg16_weights_names_the_missing_file(tmp_path, monkeypatch, style, content_dir):
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    with pytest.raises(MissingWeightsError, match=r"vgg16-397923af\.pth"):
        train_fast(style, content_dir, tmp_path / "x.pth", config=TINY, device="cpu")
