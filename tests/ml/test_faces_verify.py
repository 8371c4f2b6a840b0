"""Distances, the thresholded decision and the learned (abs / χ²) similarity."""

from __future__ import annotations

import numpy as np
import pytest

from ml.faces.verify import (
    LearnedSimilarity,
    Verification,
    cosine_distance,
    euclidean_distance,
    pair_features,
    pairwise_distances,
    verify,
)


def test_distances_on_known_vectors():
    a, b, c = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([-2.0, 0.0])
    assert cosine_distance(a, a) == pytest.approx(0.0)
    assert cosine_distance(a, b) == pytest.approx(1.0)
    assert cosine_distance(a, c) == pytest.approx(2.0)  # rows are normalised first
    assert euclidean_distance(a, b) == pytest.approx(np.sqrt(2))
    assert euclidean_distance(a, c) == pytest.approx(2.0)


def test_row_wise_and_pairwise_shapes_agree():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 8)), rng.normal(size=(4, 8))
    rows = cosine_distance(x, y)
    assert rows.shape == (4,)
    matrix = pairwise_distances(x, y)
    assert matrix.shape == (4, 4)
    assert np.allclose(np.diag(matrix), rows)
    assert np.allclose(pairwise_distances(x, y, "euclidean"), np.sqrt(2 * matrix))
    with pytest.raises(ValueError):
        pairwise_distances(x, y, "manhattan")


def test_verify_decides_at_the_threshold_and_scores_around_one_half():
    a = np.array([1.0, 0.0, 0.0])
    near = np.array([1.0, 0.3, 0.0])  # cosine distance ≈ 0.042
    far = np.array([0.0, 1.0, 0.0])
    same = verify(a, near, threshold=0.09)
    assert isinstance(same, Verification) and same.same and same.score > 0.5
    different = verify(a, far, threshold=0.09)
    assert not different.same and different.score < 0.01
    at = verify(a, near, threshold=same.distance)
    assert at.same and at.score == pytest.approx(0.5)
    assert verify(a, near, threshold=0.5, metric="euclidean").distance == pytest.approx(np.sqrt(2 * same.distance))


def test_chi2_features_are_finite_and_non_negative_for_signed_embeddings():
    a = np.array([[0.5, -0.5, 0.5, -0.5]])
    b = np.array([[-0.5, 0.5, 0.5, 0.0]])  # a_k + b_k is 0 or negative in places
    chi2 = pair_features(a, b, "chi2")
    assert np.isfinite(chi2).all() and (chi2 >= 0).all()
    assert (chi2 <= pair_features(a, b, "abs") + 1e-9).all()
    # For non-negative features it is the textbook (a-b)²/(a+b).
    p, q = np.array([[0.6, 0.8]]), np.array([[0.8, 0.6]])
    assert np.allclose(pair_features(p, q, "chi2"), (p - q) ** 2 / (p + q), atol=1e-5)


def _synthetic_pairs(n: int, dim: int = 16, seed: int = 0):
    """Identities are random centres; photos are centres plus noise; half the pairs share a centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n, dim))
    a = centres + 0.3 * rng.normal(size=(n, dim))
    same = np.arange(n) % 2 == 0
    other = centres[rng.permutation(n)]
    b = np.where(same[:, None], centres, other) + 0.3 * rng.normal(size=(n, dim))
    return a, b, same


@pytest.mark.parametrize("kind", ["abs", "chi2"])
def test_learned_similarity_separates_pairs(kind):
    a, b, same = _synthetic_pairs(600)
    model = LearnedSimilarity(kind).fit(a[:400], b[:400], same[:400])
    probability = model.predict_proba(a[400:], b[400:])
    assert probability.shape == (200,) and ((probability >= 0) & (probability <= 1)).all()
    assert np.mean(model.predict(a[400:], b[400:]) == same[400:]) > 0.95
    assert probability[same[400:]].mean() > 0.8 > 0.2 > probability[~same[400:]].mean()
    # The fitted form is exactly σ(w·f + b): recompute it from the stored parameters.
    restored = LearnedSimilarity.from_dict(model.to_dict())
    logit = pair_features(a[400:], b[400:], kind) @ restored.weights + restored.bias
    assert np.allclose(1 / (1 + np.exp(-logit)), probability)


def test_learned_similarity_needs_both_kinds_of_pair():
    a, b, _ = _synthetic_pairs(20)
    with pytest.raises(ValueError, match="both"):
        LearnedSimilarity().fit(a, b, np.ones(20, bool))
    with pytest.raises(RuntimeError, match="not fitted"):
        LearnedSimilarity().predict_proba(a, b)
