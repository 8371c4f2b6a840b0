"""Embedder registry, the real FaceNet (CASIA) and dlib descriptors, FaceNet mechanics (random weights)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.faces.align import align_face, crop_face_box
from ml.faces.detect import FaceDetector
from ml.faces.embedders import (
    DEFAULT_EMBEDDER,
    EMBEDDERS,
    DlibResNetEmbedder,
    Embedder,
    FaceNetEmbedder,
    fixed_image_standardization,
    get_embedder,
)
from ml.faces.onnx_nets import pytorch_only
from ml.images import open_image
from ml.weights import MissingWeightsError


@pytest.fixture(scope="module")
def faces_and_image(testdata: Path):
    image = open_image(testdata / "faces_group" / "CompreFace__015_6.jpg")
    return image, FaceDetector(device="cpu").detect(image)


def test_registry_describes_every_embedder():
    assert DEFAULT_EMBEDDER == "facenet-casia-webface"
    assert set(EMBEDDERS) == {"dlib-resnet-v1", "facenet-vggface2", "facenet-casia-webface"}
    dlib = EMBEDDERS["dlib-resnet-v1"]
    assert (dlib.dim, dlib.input_size, dlib.crop, dlib.template) == (128, 150, "landmarks", "dlib")
    for name in ("facenet-vggface2", "facenet-casia-webface"):
        spec = EMBEDDERS[name]
        assert (spec.dim, spec.input_size, spec.crop, spec.margin) == (512, 160, "box", 32)
    for spec in EMBEDDERS.values():
        assert spec.metric == "cosine" and 0 < spec.default_threshold < 1


def test_unknown_embedder_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown embedder 'arcface'"):
        get_embedder("arcface", device="cpu")


def test_get_embedder_reuses_one_instance():
    assert get_embedder(device="cpu") is get_embedder("facenet-casia-webface", device="cpu")
    assert get_embedder("dlib-resnet-v1", device="cpu") is get_embedder("dlib-resnet-v1", device="cpu")


def test_facenet_crops_the_mtcnn_box_with_a_margin_not_the_landmark_warp(faces_and_image):
    image, faces = faces_and_image
    embedder = get_embedder(device="cpu")
    chips = embedder.align(image, faces[:2])
    for chip, face in zip(chips, faces[:2], strict=True):
        assert np.array_equal(np.asarray(chip), np.asarray(crop_face_box(image, face.box, 160, 32)))
        assert not np.array_equal(np.asarray(chip), np.asarray(align_face(image, face.landmarks, 160, "facenet")))


def test_facenet_embeddings_are_unit_norm_512d_and_tell_people_apart(testdata: Path, faces_and_image):
    image, faces = faces_and_image
    embedder = get_embedder(device="cpu")
    vectors = embedder.embed_faces(image, faces)
    assert vectors.shape == (6, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    strangers = (1 - vectors @ vectors.T)[np.triu_indices(6, 1)]
    assert strangers.min() > embedder.default_threshold  # six different people, none called the same
    detector = FaceDetector(device="cpu")
    same = []
    for path in sorted((testdata / "faces" / "serena_williams").glob("*.jpg"))[:2]:
        photo = open_image(path)
        same.append(embedder.embed_faces(photo, [max(detector.detect(photo), key=lambda f: f.width)])[0])
    distance = 1 - float(same[0] @ same[1])
    assert distance < embedder.default_threshold  # one person in two photos


def test_dlib_embeddings_are_unit_norm_float32_rows(faces_and_image):
    image, faces = faces_and_image
    embedder = get_embedder("dlib-resnet-v1", device="cpu")
    assert isinstance(embedder, Embedder) and embedder.name == "dlib-resnet-v1"
    vectors = embedder.embed_faces(image, faces)
    assert vectors.shape == (6, 128) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Six different people (faces only ~40 px wide, so less distinct than portraits): far apart on
    # average, and no two as close as the same person photographed twice typically is (~0.04).
    distances = (1 - vectors @ vectors.T)[np.triu_indices(6, 1)]
    assert distances.mean() > 1.3 * embedder.default_threshold and distances.min() > 0.06
    assert embedder.embed_faces(image, []).shape == (0, 128)


def test_both_dlib_backends_agree(faces_and_image):
    pytest.importorskip("dlib")
    image, faces = faces_and_image
    auto = get_embedder("dlib-resnet-v1", device="cpu")
    native = get_embedder("dlib-resnet-v1", device="cpu", backend="dlib")
    assert (auto.backend, native.backend) == ("port", "dlib")
    chips = native.align(image, faces)
    assert np.allclose(auto.embed_chips(chips), native.embed_chips(chips), atol=1e-4)


def test_the_dlib_port_failing_is_an_error_not_a_silent_switch_to_dlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml.faces.dlib_resnet", None)  # the port cannot be imported
    with pytest.raises(ImportError):
        get_embedder("dlib-resnet-v1", device="cpu", backend="port")
    with pytest.raises(ImportError):
        DlibResNetEmbedder(EMBEDDERS["dlib-resnet-v1"], torch.device("cpu"))
    with pytest.raises(ValueError, match="backend must be"):
        get_embedder("dlib-resnet-v1", device="cpu", backend="auto")


def test_chips_can_be_given_as_an_array_or_images_of_another_size(faces_and_image):
    image, faces = faces_and_image
    embedder = get_embedder("dlib-resnet-v1", device="cpu")
    chips = embedder.align(image, faces[:2])
    as_array = np.stack([np.asarray(c) for c in chips])
    assert np.allclose(embedder.embed_chips(as_array), embedder.embed_chips(chips), atol=1e-6)
    resized = [c.resize((300, 300)) for c in chips]
    assert np.allclose(embedder.embed_chips(resized), embedder.embed_chips(chips), atol=0.02)
    with pytest.raises(ValueError, match="uint8"):
        embedder.embed_chips(as_array.astype(np.float32))


@pytest.fixture(scope="module")
def random_facenet() -> FaceNetEmbedder:
    torch.manual_seed(0)
    embedder = get_embedder("facenet-vggface2", device="cpu", random_weights=True)
    assert isinstance(embedder, FaceNetEmbedder) and embedder.random_weights
    return embedder


def test_facenet_random_weights_give_unit_512d_rows_in_batches(random_facenet, faces_and_image):
    image, faces = faces_and_image
    chips = random_facenet.align(image, faces[:5])
    assert all(c.size == (160, 160) for c in chips)
    together = random_facenet.embed_chips(chips)
    assert together.shape == (5, 512) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([random_facenet.embed_chips([c]) for c in chips])
    assert np.allclose(together, one_by_one, atol=1e-4)  # eval mode: no batch statistics leak between faces
    random_facenet.batch_size = 2  # three forward passes of 2, 2, 1
    try:
        assert np.allclose(random_facenet.embed_chips(chips), together, atol=1e-4)
    finally:
        random_facenet.batch_size = 16


def test_facenet_input_is_fixed_image_standardization(random_facenet):
    pixels = torch.tensor([0.0, 127.5, 255.0])
    assert torch.allclose(fixed_image_standardization(pixels), torch.tensor([-127.5 / 128, 0.0, 127.5 / 128]))
    seen: dict[str, torch.Tensor] = {}

    def record(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["x"] = inputs[0]

    hook = random_facenet._net.conv2d_1a.register_forward_hook(record)
    try:
        # A forward hook sees PyTorch's run; onnxruntime on CPU is fed the very same batch (ml.faces.embedders._run).
        with pytorch_only():
            random_facenet.embed_chips(np.full((1, 160, 160, 3), 255, dtype=np.uint8))
    finally:
        hook.remove()
    assert torch.allclose(seen["x"], torch.full_like(seen["x"], 127.5 / 128))


def test_facenet_vggface2_without_weights_names_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingWeightsError, match=r"20180402-114759-vggface2\.pt.*fetch_models"):
        get_embedder("facenet-vggface2", device="cpu")


def test_facenet_loads_a_weights_file_from_the_weights_dir(tmp_path, monkeypatch):
    """The loading path itself: a state dict in the release files' layout (logits included) loads."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(1)
    source = InceptionResnetV1(pretrained=None, classify=True, num_classes=8631).eval()
    (tmp_path / "w").mkdir()
    torch.save(source.state_dict(), tmp_path / "w" / "20180402-114759-vggface2.pt")
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    embedder = get_embedder("facenet-vggface2", device="cpu", random_weights=False)
    chips = np.random.default_rng(0).integers(0, 256, size=(2, 160, 160, 3), dtype=np.uint8)
    with torch.inference_mode():
        expected = source.last_bn(
            source.last_linear(
                torch.nn.Sequential(*list(source.children())[:-4])(
                    fixed_image_standardization(torch.from_numpy(chips).permute(0, 3, 1, 2).float())
                ).flatten(1)
            )
        )
    expected = torch.nn.functional.normalize(expected, dim=1).numpy()
    assert np.allclose(embedder.embed_chips(chips), expected, atol=1e-4)


def test_grey_and_rgba_chips_are_converted():
    embedder = get_embedder("dlib-resnet-v1", device="cpu")
    grey = Image.new("L", (150, 150), 128)
    rgba = Image.new("RGBA", (150, 150), (128, 128, 128, 255))
    assert np.allclose(embedder.embed_chips([grey]), embedder.embed_chips([rgba]), atol=1e-6)
