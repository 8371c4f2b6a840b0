"""Reading dlib's network serialization (``dlib::serialize`` of a ``dnn`` net) with numpy: no dlib needed.

:func:`parse_dlib_net` turns the bytes of a file such as ``dlib_face_recognition_resnet_model_v1.dat``
into a flat list of :class:`DlibLayer` (input first, loss last), each with its parameters as numpy
arrays. What the layers mean as a network is :mod:`ml.faces.dlib_resnet`'s business; this module only
knows the file format (dlib/serialize.h, dlib/float_details.h, dlib/dnn/tensor.h, dlib/dnn/core.h).

This module never imports dlib (a test-only dependency), torch nor Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DlibFormatError", "DlibLayer", "parse_dlib_net"]


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
