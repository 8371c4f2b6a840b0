"""DBSCAN and K-means on embeddings with known groups."""

from __future__ import annotations

import numpy as np
import pytest

from ml.faces.cluster import NOISE, cluster_count, dbscan, kmeans, purity


def _groups(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight groups of unit vectors (5, 4 and 3 members) and two loners."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, 32))
    sizes = [5, 4, 3, 1, 1]
    truth = np.repeat(np.arange(5), sizes)
    x = centres[truth] + 0.05 * rng.normal(size=(len(truth), 32))
    return x / np.linalg.norm(x, axis=1, keepdims=True), truth


def test_dbscan_finds_the_groups_and_marks_loners_as_noise():
    x, truth = _groups()
    labels = dbscan(x, eps=0.1, min_faces=2)
    assert labels.dtype == np.int64 and labels.shape == truth.shape
    assert list(labels) == [0] * 5 + [1] * 4 + [2] * 3 + [NOISE, NOISE]


def test_dbscan_core_rule_counts_the_face_itself():
    x, _ = _groups()
    labels = dbscan(x, eps=0.1, min_faces=4)  # the 3-face group has no core face now
    assert cluster_count(labels) == 2 and (labels[9:] == NOISE).all()
    assert (dbscan(x, eps=0.1, min_faces=1) != NOISE).all()  # every face is its own core


def test_kmeans_recovers_the_groups():
    x, truth = _groups()
    labels = kmeans(x, k=5, seed=0)
    assert cluster_count(labels) == 5 and NOISE not in labels
    assert purity(labels, truth) == 1.0
    assert np.array_equal(labels, kmeans(x, k=5, seed=0))
    with pytest.raises(ValueError):
        kmeans(x, k=0)


def test_purity_counts_noise_as_wrong():
    truth = np.array([0, 0, 1, 1])
    assert purity(np.array([0, 0, 1, 1]), truth) == 1.0
    assert purity(np.array([0, 0, 0, 0]), truth) == 0.5
    assert purity(np.array([0, 0, NOISE, NOISE]), truth) == 0.5
