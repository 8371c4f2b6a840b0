"""Real recognition on testdata/faces with MTCNN and both real embedders: FaceNet (the default,
MTCNN box + margin) and the dlib ResNet descriptor (5-point alignment).

One module-scoped detection pass finds the main face in up to four photos of each of the 35
people; each embedder embeds those faces once, and the tests below run on both.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from ml.faces.cluster import NOISE, cluster_count, dbscan, kmeans, purity
from ml.faces.dataset import FaceSet, list_identities, main_face
from ml.faces.detect import DetectedFace, FaceDetector
from ml.faces.embedders import EMBEDDERS, get_embedder
from ml.faces.evaluate import all_pairs, evaluate_faceset, open_set_identification
from ml.faces.triplet import ProjectionHead, fine_tune, mean_mined_loss
from ml.faces.verify import LearnedSimilarity, cosine_distance
from ml.images import open_image

PHOTOS_PER_PERSON = 4
EMBEDDERS_UNDER_TEST = ["facenet-casia-webface", "dlib-resnet-v1"]


@pytest.fixture(scope="module")
def detections(testdata: Path) -> tuple[list[tuple[int, Path, DetectedFace]], list[str]]:
    # Portraits have big faces: a smaller pyramid finds them all (asserted below) at a third of the cost.
    detector = FaceDetector(device="cpu", max_side=640, min_face_size=40)
    people = list_identities(testdata / "faces")
    found = []
    for label, (_, photos) in enumerate(people):
        for path in photos[:PHOTOS_PER_PERSON]:
            face = main_face(detector.detect(open_image(path)))
            assert face is not None, f"no face found in {path}"
            found.append((label, path, face))
    return found, [p for p, _ in people]


_embedded: dict[str, FaceSet] = {}


def _faceset(detections, name: str) -> FaceSet:  # type: ignore[no-untyped-def]
    if name not in _embedded:
        found, people = detections
        embedder = get_embedder(name, device="cpu")
        vectors = [embedder.embed_faces(open_image(path), [face])[0] for _, path, face in found]
        _embedded[name] = FaceSet(
            np.stack(vectors), np.asarray([label for label, _, _ in found]), people, [p for _, p, _ in found]
        )
    return _embedded[name]


@pytest.fixture(scope="module", params=EMBEDDERS_UNDER_TEST)
def faces(request, detections) -> FaceSet:  # type: ignore[no-untyped-def]
    return _faceset(detections, request.param)


@pytest.fixture(scope="module")
def dlib_faces(detections) -> FaceSet:  # type: ignore[no-untyped-def]
    return _faceset(detections, "dlib-resnet-v1")


def _spec(faces: FaceSet):  # type: ignore[no-untyped-def]
    """The registry entry of the embedder that made these embeddings (told apart by dimension)."""
    return EMBEDDERS["facenet-casia-webface" if faces.embeddings.shape[1] == 512 else "dlib-resnet-v1"]


@pytest.fixture(scope="module")
def pairs(faces: FaceSet) -> tuple[np.ndarray, np.ndarray]:
    i, j, same = all_pairs(faces.labels)
    return np.asarray(cosine_distance(faces.embeddings[i], faces.embeddings[j])), same


def test_embeddings_are_unit_norm(faces):
    assert faces.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(faces.embeddings, axis=1), 1.0, atol=1e-5)


def test_same_person_pairs_are_much_closer_than_different_person_pairs(faces, pairs):
    distances, same = pairs
    genuine, impostor = distances[same], distances[~same]
    assert genuine.mean() < 0.5 * impostor.mean()  # typically 0.05 vs 0.2 (dlib), 0.3 vs 0.95 (FaceNet)
    threshold = _spec(faces).default_threshold
    assert np.mean(genuine <= threshold) > 0.93
    assert np.mean(impostor > threshold) > 0.98


def test_evaluation_reaches_high_accuracy_with_held_back_thresholds(faces):
    report = evaluate_faceset(faces, _spec(faces).name)
    assert report.table().splitlines()[0].startswith("accuracy")
    assert report.accuracy >= 0.96
    assert report.auc >= 0.99
    assert report.open_set.top1 >= 0.9 and report.open_set.rejected >= 0.6
    # A stricter threshold (FAR 1e-3 on pairs) rejects more unknowns and still names most known people.
    assert report.open_set_strict.rejected >= report.open_set.rejected
    assert report.open_set_strict.identified >= 0.8
    buffer = io.BytesIO()
    report.roc_png(buffer)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dbscan_recovers_the_identities(faces):
    labels = dbscan(faces.embeddings, eps=_spec(faces).cluster_eps, min_faces=2)
    people = len(np.unique(faces.labels))
    # Measured: purity ≈ 0.95 over all 173 photos; a few one-photo-here people become noise.
    assert purity(labels, faces.labels) >= 0.85
    assert 0.8 * people <= cluster_count(labels) <= 1.1 * people
    assert np.mean(labels == NOISE) < 0.1


def test_kmeans_recovers_the_identities(faces):
    labels = kmeans(faces.embeddings, k=len(np.unique(faces.labels)), seed=0)
    assert purity(labels, faces.labels) >= 0.85


def test_open_set_rejects_people_missing_from_the_gallery(faces):
    threshold = _spec(faces).default_threshold
    result = open_set_identification(faces, threshold, unknown_share=0.3, seed=1)
    assert result.unknown_probes > 0 and result.known_probes > 0
    assert result.top1 >= 0.9 and result.rejected >= 0.6
    strict = open_set_identification(faces, 0.0, seed=1)
    assert strict.rejected == 1.0 and strict.identified == 0.0


def _split_people(faces: FaceSet, held_share: float = 0.35) -> np.ndarray:
    people = np.unique(faces.labels)
    held = np.random.default_rng(0).choice(people, round(held_share * len(people)), replace=False)
    return np.isin(faces.labels, held)


def test_learned_similarity_separates_pairs_of_people_it_never_saw(faces):
    held = _split_people(faces)
    train, test = faces.subset(~held), faces.subset(held)
    i, j, same = all_pairs(train.labels)
    model = LearnedSimilarity("abs").fit(train.embeddings[i], train.embeddings[j], same)
    i, j, same = all_pairs(test.labels)
    probability = model.predict_proba(test.embeddings[i], test.embeddings[j])
    assert probability[same].mean() > 0.8 and probability[~same].mean() < 0.1
    balanced_accuracy = (np.mean(probability[same] >= 0.5) + np.mean(probability[~same] < 0.5)) / 2
    assert balanced_accuracy > 0.93


def test_triplet_fine_tuning_lowers_the_loss_without_hurting_held_back_verification(dlib_faces):
    held = _split_people(dlib_faces)
    train, test = dlib_faces.subset(~held), dlib_faces.subset(held)
    before_loss = mean_mined_loss(ProjectionHead(128), train.embeddings, train.labels)
    result = fine_tune(train.embeddings, train.labels, epochs=30, mining="batch-hard", seed=0)
    after_loss = mean_mined_loss(result.head, train.embeddings, train.labels)
    assert after_loss < 0.5 * before_loss
    before = evaluate_faceset(test, "dlib", folds=5)
    after = evaluate_faceset(
        FaceSet(result.head.project(test.embeddings), test.labels, test.people, test.paths), "dlib+head", folds=5
    )
    assert after.auc >= before.auc - 0.003
    assert after.accuracy >= before.accuracy - 0.02
