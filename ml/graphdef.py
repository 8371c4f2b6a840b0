"""A minimal reader for frozen TensorFlow graphs (``GraphDef`` protobuf files), without TensorFlow.

Why our own reader rather than ``protobuf`` plus the compiled ``graph_pb2`` that ``tensorboard``
ships: a frozen graph needs only five message types (GraphDef → NodeDef → AttrValue →
TensorProto / TensorShapeProto) and the protobuf wire format is frozen by design, so about a
hundred lines cover it with no dependency. The alternative would pull in a 5 MB package
(``--no-deps``) for one generated file whose protobuf *gencode* version must match the protobuf
*runtime* that ``onnx`` already pins here — a coupling that breaks on an unrelated upgrade.
Speed is not an issue: the weights are length-delimited byte blobs that are sliced, not decoded
field by field, so a 94 MB graph parses in well under a second.

Only what a frozen inference graph uses is decoded: node name, op, inputs, and attributes that are
tensors, shapes, types, ints, floats, bools, strings and lists of ints. Anything else is skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# tensorflow/core/framework/types.proto
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
}
# TensorProto's typed repeated value fields: field number → (dtype code it serves, packed element format)
_VALUE_FIELDS: dict[int, tuple[tuple[int, ...], str]] = {
    5: ((1,), "f"),  # float_val (packed fixed32)
    6: ((2,), "d"),  # double_val (packed fixed64)
    7: ((3, 4), "varint"),  # int_val (packed varint; also uint8/int8/int16)
    10: ((9,), "varint"),  # int64_val
    11: ((10,), "varint"),  # bool_val
}


class GraphDefError(ValueError):
    """The bytes are not a GraphDef this reader understands."""


@dataclass
class Node:
    """One ``NodeDef``: ``attrs`` maps attribute names to numpy arrays (tensors), tuples (shapes,
    int lists), ints, floats, bools or bytes."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, object] = field(default_factory=dict)


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise GraphDefError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise GraphDefError("varint too long")


Value = int | bytes | memoryview


def _view(value: Value) -> memoryview:
    if not isinstance(value, memoryview):
        raise GraphDefError("expected a length-delimited field")
    return value


def _int(value: Value) -> int:
    if not isinstance(value, int):
        raise GraphDefError("expected a varint field")
    return value


def _text(value: Value) -> str:
    return bytes(_view(value)).decode()


def _fields(data: memoryview) -> list[tuple[int, int, Value]]:
    """Top-level fields of one message: ``(number, wire type, value)``; length-delimited values are
    memoryviews (no copy), varints ints, fixed32/fixed64 their raw 4/8 bytes."""
    out: list[tuple[int, int, Value]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Value
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise GraphDefError(f"field {number} runs past the end of its message")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = bytes(data[pos : pos + 4]), pos + 4
        elif wire == 1:
            value, pos = bytes(data[pos : pos + 8]), pos + 8
        else:
            raise GraphDefError(f"unsupported wire type {wire} (field {number})")
        out.append((number, wire, value))
    return out


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _packed(wire: int, value: Value, kind: str) -> list[float | int]:
    """A repeated scalar field's values, packed (wire type 2) or one unpacked element."""
    if kind == "varint":
        if wire == 0:
            return [_signed64(_int(value))]
        data, pos = _view(value), 0
        out: list[float | int] = []
        while pos < len(data):
            item, pos = _varint(data, pos)
            out.append(_signed64(item))
        return out
    if isinstance(value, int):
        raise GraphDefError("expected fixed-width values")
    raw = bytes(value)
    return list(struct.unpack(f"<{len(raw) // struct.calcsize(kind)}{kind}", raw))


def _shape(data: memoryview) -> tuple[int, ...]:
    dims = []
    for number, _, value in _fields(data):
        if number == 2:  # Dim
            size = 0
            for dim_number, _, dim_value in _fields(_view(value)):
                if dim_number == 1:
                    size = _signed64(_int(dim_value))
            dims.append(size)
    return tuple(dims)


def _tensor(data: memoryview) -> np.ndarray:
    dtype_code, content = 1, None
    shape: tuple[int, ...] = ()
    values: list[float | int] = []
    for number, wire, value in _fields(data):
        if number == 1:
            dtype_code = _int(value)
        elif number == 2:
            shape = _shape(_view(value))
        elif number == 4:
            content = bytes(_view(value))
        elif number in _VALUE_FIELDS:
            values.extend(_packed(wire, value, _VALUE_FIELDS[number][1]))
    if dtype_code not in _DTYPES:
        raise GraphDefError(f"tensor dtype {dtype_code} is not supported")
    dtype = _DTYPES[dtype_code]
    count = int(np.prod(shape)) if shape else 1
    if content is not None:
        array = np.frombuffer(content, dtype=dtype).copy()
    elif len(values) in (0, 1):  # TF stores a constant-filled tensor as its single value
        array = np.full(count, values[0] if values else 0, dtype=dtype)
    else:
        array = np.asarray(values, dtype=dtype)
    if array.size != count:
        raise GraphDefError(f"tensor of shape {shape} holds {array.size} values")
    return array.reshape(shape)


def _attr(data: memoryview) -> object:
    for number, _, value in _fields(data):
        if number == 8:
            return _tensor(_view(value))
        if number == 7:
            return _shape(_view(value))
        if number in (3, 6):  # i, type
            return _signed64(_int(value))
        if number == 4:
            return _packed(5, value, "f")[0]
        if number == 5:
            return bool(_int(value))
        if number == 2:
            return bytes(_view(value))
        if number == 1:  # ListValue: keep its ints (strides, ksize, dilations)
            ints: list[int] = []
            for list_number, list_wire, list_value in _fields(_view(value)):
                if list_number == 3:
                    ints.extend(int(v) for v in _packed(list_wire, list_value, "varint"))
            return tuple(ints)
    return None


def _node(data: memoryview) -> Node:
    node = Node(name="", op="")
    for number, _, value in _fields(data):
        if number == 1:
            node.name = _text(value)
        elif number == 2:
            node.op = _text(value)
        elif number == 3:
            node.inputs.append(_text(value))
        elif number == 5:  # map<string, AttrValue> entry
            key, attr = "", None
            for entry_number, _, entry_value in _fields(_view(value)):
                if entry_number == 1:
                    key = _text(entry_value)
                elif entry_number == 2:
                    attr = _attr(_view(entry_value))
            node.attrs[key] = attr
    return node


def read_graph(source: str | Path | bytes) -> list[Node]:
    """The nodes of a binary ``GraphDef`` (a frozen ``.pb``), in file order."""
    data = memoryview(Path(source).read_bytes() if isinstance(source, (str, Path)) else source)
    nodes = [_node(_view(value)) for number, _, value in _fields(data) if number == 1]
    if not nodes or any(not n.name or not n.op for n in nodes):
        raise GraphDefError("not a GraphDef: no named nodes found")
    return nodes


def constants(nodes: list[Node]) -> dict[str, np.ndarray]:
    """``{node name: value}`` of every ``Const`` node (a frozen graph's weights)."""
    out = {}
    for node in nodes:
        if node.op == "Const":
            value = node.attrs.get("value")
            if not isinstance(value, np.ndarray):
                raise GraphDefError(f"Const node {node.name!r} has no tensor value")
            out[node.name] = value
    return out
