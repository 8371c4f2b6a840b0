"""Face networks as onnxruntime sessions: the CPU fast path of the MTCNN cascade and the embedders.

Why: on CPU, onnxruntime runs these networks in well under PyTorch's time, measured interleaved
on the 2-core EPYC with one thread each (docs/benchmarks.md, "Bulk face scanning"): P-Net over the
pyramid of a 1024×683 photo 62 vs 81 ms, R-Net on 383 crops 35 vs 67 ms, O-Net on 33 crops 14 vs
31 ms, FaceNet 3.2-3.8× and the dlib port 1.6-2.3× the faces/s. Its memory arena reuses buffers
where PyTorch's eager ops allocate a fresh activation per layer, its pooling and PReLU kernels do
not lag its convolutions on 10-32 channels as PyTorch's channels-last ones do, and its threads do
not spin while they wait, which matters on a worker that shares its cores. The PyTorch modules stay
the path for CUDA, for training, and for the comparisons (:func:`pytorch_only`).

Each module is exported once per process (PyTorch's TorchScript exporter, opset 17; FaceNet takes
~6 s, the MTCNN nets about a second together), when the detector or the shared embedder is built;
nothing is written to disk. The results equal the module's to float32 rounding (tests: detections
within 1e-2 px, embeddings within 1e-4, on real photos).
"""

from __future__ import annotations

import io
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

OPSET = 17

_pytorch_only = False


def runs_on_onnx(device: torch.device) -> bool:
    """Whether the face networks on ``device`` run through onnxruntime: on CPU, unless :func:`pytorch_only`."""
    return device.type == "cpu" and not _pytorch_only


@contextmanager
def pytorch_only() -> Iterator[None]:
    """Run the face networks in PyTorch on every device meanwhile (process-wide): the reference
    path the tests and benchmarks compare onnxruntime with."""
    global _pytorch_only
    previous, _pytorch_only = _pytorch_only, True
    try:
        yield
    finally:
        _pytorch_only = previous


class OnnxModule:
    """An onnxruntime session computing ``module`` (eval mode, fixed weights) on float32 batches.

    ``__call__`` takes a float32 tensor or array, e.g. ``(N, C, H, W)``, whose ``dynamic`` axes may
    change from call to call (the others stay as on the first call, which exports), and returns the
    module's outputs as CPU float32 tensors, a tuple when it has several. ``graph(module)``, when
    given, is what gets exported instead (e.g. the module with its input conversion). ``threads``:
    onnxruntime's intra-op threads (default: torch's thread count, so one setting governs both
    engines); the threads do not spin while idle, as in :mod:`ml.style.multistyle_onnx`. Safe to
    call from several threads (onnxruntime sessions are). Only a weak reference to ``module`` is
    kept, so the process-wide cache below does not keep dropped networks alive.
    """

    def __init__(
        self,
        module: nn.Module,
        threads: int | None = None,
        dynamic: tuple[int, ...] = (0,),
        arena: bool = True,
        graph: Callable[[nn.Module], nn.Module] | None = None,
    ) -> None:
        self._module = weakref.ref(module)
        self._graph = graph
        self._dynamic = dynamic
        self._arena = arena
        self._threads = threads or torch.get_num_threads()
        self._session: Any = None
        self._outputs = 1
        self._lock = threading.Lock()

    def build(self, example: torch.Tensor) -> Any:
        """Export and load the session now (``example``: one input like those to come); returns it."""
        import onnxruntime as ort

        with self._lock:
            if self._session is None:
                module = self._module()
                if module is None:
                    raise RuntimeError("the module of this onnxruntime session is gone")
                exported = self._graph(module) if self._graph else module
                buffer = io.BytesIO()
                # The tracer warns about shape checks (dlib's residual padding) that are constant for
                # the fixed chip size; only the batch axis (and P-Net's map size) varies.
                with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", torch.jit.TracerWarning)
                    outputs = exported(example[:1].clone())
                    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
                    self._outputs = len(outputs)
                    torch.onnx.export(
                        exported,
                        (example[:1].clone(),),
                        buffer,  # type: ignore[arg-type]  # a file object works (and is documented)
                        input_names=["x"],
                        output_names=[f"y{i}" for i in range(self._outputs)],
                        dynamic_axes={
                            "x": {axis: f"d{axis}" for axis in self._dynamic},
                            # Every output axis may vary (N, and the map size of a fully convolutional net).
                            **{f"y{i}": {a: f"y{i}_{a}" for a in range(out.dim())} for i, out in enumerate(outputs)},
                        },
                        opset_version=OPSET,
                        dynamo=False,
                    )
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.intra_op_num_threads = self._threads
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.enable_cpu_mem_arena = self._arena
                self._session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
            return self._session

    def __call__(self, batch: torch.Tensor | np.ndarray) -> Any:
        tensor = torch.as_tensor(batch)
        session = self._session or self.build(tensor.float())
        feed = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=np.float32)
        results = tuple(torch.from_numpy(out) for out in session.run(None, {"x": feed}))
        return results if self._outputs > 1 else results[0]


_sessions: weakref.WeakKeyDictionary[nn.Module, OnnxModule] = weakref.WeakKeyDictionary()
_sessions_lock = threading.Lock()


def onnx_module(
    module: nn.Module,
    dynamic: tuple[int, ...] = (0,),
    graph: Callable[[nn.Module], nn.Module] | None = None,
    arena: bool = True,
) -> OnnxModule:
    """The process's :class:`OnnxModule` of ``module`` (one per module object, exported on first call)."""
    with _sessions_lock:
        if module not in _sessions:
            _sessions[module] = OnnxModule(module, dynamic=dynamic, arena=arena, graph=graph)
        return _sessions[module]
