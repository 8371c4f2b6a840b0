"""Grouping unknown faces: density clustering (DBSCAN) and K-means on face embeddings.

Both take L2-normalised embeddings (N, d) and return int64 labels (N,): clusters numbered 0, 1, …
in order of their first face, and ``-1`` for noise (faces that belong to no group).
"""

from __future__ import annotations

import numpy as np

from ml.faces.verify import pairwise_distances

NOISE = -1


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0, 1, … by first appearance, keeping -1 for noise; deterministic output."""
    out = np.full(len(labels), NOISE, dtype=np.int64)
    mapping: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        if label == NOISE:
            continue
        out[i] = mapping.setdefault(label, len(mapping))
    return out


def dbscan(embeddings: np.ndarray, eps: float, min_faces: int = 3) -> np.ndarray:
    """DBSCAN with cosine distance.

    A face is a *core* face when at least ``min_faces`` faces (itself included) lie within cosine
    distance ``eps`` of it; clusters are the core faces connected through such neighbourhoods,
    plus the non-core faces within ``eps`` of a core (each joins the first core cluster found).
    Everything else is noise (-1). ``min_faces=1`` makes every face a cluster of its own or part of
    one, with no noise. Cost is O(N²) distances, computed in blocks of 2048 rows.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be (N, d), got {x.shape}")
    if min_faces < 1:
        raise ValueError("min_faces must be at least 1")
    n = len(x)
    neighbours: list[np.ndarray] = []
    for start in range(0, n, 2048):
        block = pairwise_distances(x[start : start + 2048], x)
        neighbours.extend(np.flatnonzero(row <= eps) for row in block)
    core = np.array([len(nb) >= min_faces for nb in neighbours], dtype=bool)
    labels = np.full(n, NOISE, dtype=np.int64)
    cluster = 0
    for seed in range(n):
        if not core[seed] or labels[seed] != NOISE:
            continue
        labels[seed] = cluster
        stack = [seed]
        while stack:
            point = stack.pop()
            for other in neighbours[point]:
                if labels[other] == NOISE:
                    labels[other] = cluster
                    if core[other]:
                        stack.append(int(other))
        cluster += 1
    return _renumber(labels)


def kmeans(embeddings: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """K-means (k-means++ init, 10 restarts) on the unit-normalised rows; labels (N,), no noise.

    On unit vectors, squared Euclidean distance is twice the cosine distance, so this is
    K-means under the cosine metric up to the centroids not being re-normalised.
    """
    from sklearn.cluster import KMeans

    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and the number of faces ({len(x)}), got {k}")
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    return _renumber(labels.astype(np.int64))


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of faces whose cluster's majority identity is their own; noise counts as wrong.

    A clustering that lumps everyone together scores the share of the largest identity; one that
    puts every face alone scores 1.0, so read it together with :func:`cluster_count` or ARI.
    """
    labels, truth = np.asarray(labels), np.asarray(truth)
    correct = 0
    for label in np.unique(labels[labels != NOISE]):
        _, counts = np.unique(truth[labels == label], return_counts=True)
        correct += int(counts.max())
    return correct / max(len(labels), 1)


def cluster_count(labels: np.ndarray) -> int:
    """Number of clusters, noise excluded."""
    return len(np.unique(labels[np.asarray(labels) != NOISE]))
