"""1:1 verification: distances between embeddings, a threshold, and a learned similarity.

Embeddings are float (d,) or (N, d) arrays; rows are L2-normalised here again (cheap, and it makes
the functions safe on vectors from elsewhere). Cosine distance is ``1 − a·b`` in 0..2; Euclidean
distance on unit vectors is ``sqrt(2 · cosine)`` in 0..2, so both rank pairs identically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METRICS = ("cosine", "euclidean")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """``1 − cos(a, b)``, row by row: (d,)·(d,) → float, (N, d)·(N, d) or broadcastable → (N,)."""
    distance = 1.0 - np.sum(_unit(a) * _unit(b), axis=-1)
    return float(distance) if np.ndim(distance) == 0 else distance


def euclidean_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """‖a − b‖ between the L2-normalised rows (0..2), with the same shapes as :func:`cosine_distance`."""
    distance = np.linalg.norm(_unit(a) - _unit(b), axis=-1)
    return float(distance) if np.ndim(distance) == 0 else distance


def pairwise_distances(a: np.ndarray, b: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """All distances between rows of ``a`` (N, d) and ``b`` (M, d): float64 (N, M)."""
    cosine = np.clip(1.0 - _unit(a) @ _unit(b).T, 0.0, 2.0)
    if metric == "cosine":
        return cosine
    if metric == "euclidean":
        return np.sqrt(2.0 * cosine)
    raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")


def distance(a: np.ndarray, b: np.ndarray, metric: str = "cosine") -> np.ndarray | float:
    """:func:`cosine_distance` or :func:`euclidean_distance` by name."""
    if metric == "cosine":
        return cosine_distance(a, b)
    if metric == "euclidean":
        return euclidean_distance(a, b)
    raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")


@dataclass(frozen=True)
class Verification:
    """The answer to "are these the same person?".

    ``same`` is ``distance <= threshold``; ``score`` is a confidence in 0..1 that is 0.5 exactly at
    the threshold and moves towards 1 (same) or 0 (different) with the distance — a monotone
    squashing, not a calibrated probability (:class:`LearnedSimilarity` gives one).
    """

    same: bool
    distance: float
    threshold: float
    score: float


def verify(a: np.ndarray, b: np.ndarray, threshold: float, metric: str = "cosine") -> Verification:
    """Compare two embeddings (d,) with ``threshold`` on ``metric`` distance."""
    d = float(distance(np.ravel(a), np.ravel(b), metric))
    # The logistic's width is a tenth of the threshold: a distance 10% past it scores ≈0.27 / 0.73.
    width = max(abs(threshold) * 0.1, 1e-6)
    score = 1.0 / (1.0 + math.exp(max(-60.0, min(60.0, (d - threshold) / width))))
    return Verification(same=d <= threshold, distance=d, threshold=float(threshold), score=score)


def pair_features(a: np.ndarray, b: np.ndarray, kind: str = "abs") -> np.ndarray:
    """Element-wise pair features of (N, d) embeddings (rows re-normalised): float64 (N, d).

    ``abs``: ``|a_k − b_k|``. ``chi2``: ``(a_k − b_k)² / (|a_k| + |b_k| + ε)``. The textbook χ²
    term divides by ``a_k + b_k``, which assumes non-negative features (histograms, ReLU outputs);
    L2-normalised embeddings have negative components, so that denominator can be zero or
    negative and the term explodes or changes sign. ``|a_k| + |b_k|`` equals ``a_k + b_k`` whenever
    both are non-negative, is never below ``|a_k − b_k|`` (so each term is at most ``|a_k − b_k|``)
    and keeps every term ≥ 0; ``ε = 1e-6`` guards the both-zero case.
    """
    a, b = _unit(np.atleast_2d(a)), _unit(np.atleast_2d(b))
    if kind == "abs":
        return np.abs(a - b)
    if kind == "chi2":
        return (a - b) ** 2 / (np.abs(a) + np.abs(b) + 1e-6)
    raise ValueError(f"kind must be 'abs' or 'chi2', not {kind!r}")


class LearnedSimilarity:
    """ŷ = σ(Σ_k w_k · f_k(a, b) + b0), f from :func:`pair_features`, fitted by logistic regression.

    This is DeepFace's (Taigman et al.) learned metric over the embedding differences. Fitting
    standardises the features for the solver, then folds the scaling back into ``weights`` and
    ``bias``, so prediction is plain NumPy and the parameters can be stored (:meth:`to_dict`).
    """

    def __init__(self, kind: str = "abs", regularisation: float = 1.0) -> None:
        if kind not in ("abs", "chi2"):
            raise ValueError(f"kind must be 'abs' or 'chi2', not {kind!r}")
        self.kind = kind
        self.regularisation = regularisation
        self.weights: np.ndarray | None = None
        self.bias = 0.0

    def fit(self, a: np.ndarray, b: np.ndarray, same: np.ndarray) -> LearnedSimilarity:
        """Learn from pairs: ``a``, ``b`` (N, d) embeddings, ``same`` (N,) bool labels (both classes)."""
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(same, dtype=bool)
        if labels.all() or not labels.any():
            raise ValueError("need both same-person and different-person pairs to fit")
        features = pair_features(a, b, self.kind)
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-12
        model = LogisticRegression(C=1.0 / self.regularisation, max_iter=2000, class_weight="balanced")
        model.fit((features - mean) / scale, labels)
        coef = model.coef_[0] / scale
        self.weights = coef
        self.bias = float(model.intercept_[0] - np.sum(coef * mean))
        return self

    def decision(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The logit Σ w_k f_k + b0 for each pair: float64 (N,)."""
        if self.weights is None:
            raise RuntimeError("LearnedSimilarity is not fitted")
        return pair_features(a, b, self.kind) @ self.weights + self.bias

    def predict_proba(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Probability that each pair shows one person: float64 (N,) in 0..1."""
        logit = np.clip(self.decision(a, b), -60.0, 60.0)
        return 1.0 / (1.0 + np.exp(-logit))

    def predict(self, a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Same person (bool (N,)) where the probability reaches ``threshold``."""
        return self.predict_proba(a, b) >= threshold

    def to_dict(self) -> dict[str, object]:
        if self.weights is None:
            raise RuntimeError("LearnedSimilarity is not fitted")
        return {"kind": self.kind, "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LearnedSimilarity:
        model = cls(kind=str(data["kind"]))
        model.weights = np.asarray(data["weights"], dtype=np.float64)
        model.bias = float(data["bias"])  # type: ignore[arg-type]
        return model
