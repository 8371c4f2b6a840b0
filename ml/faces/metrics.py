"""Verification metrics on pair distances: ROC, AUC, EER, TAR at a FAR, thresholds, k-fold accuracy.

Conventions everywhere: ``distances`` is float (N,) — lower means more alike — and ``same`` is
bool (N,), True for a genuine (same-person) pair. A pair is *accepted* when
``distance <= threshold``. FAR = accepted impostor pairs / impostor pairs; TAR = accepted genuine
pairs / genuine pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np


def _check(distances: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(distances, dtype=np.float64).ravel()
    s = np.asarray(same, dtype=bool).ravel()
    if d.shape != s.shape:
        raise ValueError(f"distances and labels differ in length: {d.shape} vs {s.shape}")
    if not s.any() or s.all():
        raise ValueError("need both genuine and impostor pairs")
    return d, s


def roc(distances: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC as ``(far, tar, thresholds)``, float64 arrays of equal length, thresholds ascending.

    One point per distinct distance (accept ``d <= threshold``), preceded by a point at
    (0, 0) whose threshold lies just below the smallest distance.
    """
    d, s = _check(distances, same)
    order = np.argsort(d, kind="stable")
    d, s = d[order], s[order]
    last_of_value = np.r_[d[1:] != d[:-1], True]  # ties are accepted together
    tar = np.cumsum(s)[last_of_value] / s.sum()
    far = np.cumsum(~s)[last_of_value] / (~s).sum()
    thresholds = d[last_of_value]
    return np.r_[0.0, far], np.r_[0.0, tar], np.r_[np.nextafter(d[0], -np.inf), thresholds]


def auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Area under the ROC: the probability that a random genuine pair is closer than a random impostor pair."""
    from sklearn.metrics import roc_auc_score

    d, s = _check(distances, same)
    return float(roc_auc_score(s, -d))


def eer(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """Equal error rate and its threshold: where FAR = FRR (1 − TAR), interpolated between ROC points."""
    far, tar, thresholds = roc(distances, same)
    frr = 1.0 - tar
    gap = far - frr  # rises from -1 to +1 along the curve
    i = int(np.searchsorted(gap, 0.0))
    if i == 0:
        return float(far[0]), float(thresholds[0])
    # Linear interpolation between the points on either side of the crossing.
    g0, g1 = gap[i - 1], gap[i]
    t = 0.0 if g1 == g0 else -g0 / (g1 - g0)
    rate = far[i - 1] + t * (far[i] - far[i - 1])
    return float(rate), float(thresholds[i - 1] + t * (thresholds[i] - thresholds[i - 1]))


def calibrate(distances: np.ndarray, same: np.ndarray, target_far: float) -> float:
    """The largest threshold whose FAR on these pairs is at most ``target_far``.

    With ``n`` impostor pairs, at most ``floor(target_far · n)`` of them may be accepted, so the
    threshold sits just below the next-closest impostor distance. A target below ``1/n`` can only
    be met by accepting no impostor at all; measuring FAR = 1e-3 honestly needs well over 1000
    impostor pairs.
    """
    if not 0.0 <= target_far <= 1.0:
        raise ValueError("target_far must be in 0..1")
    d, s = _check(distances, same)
    impostors = np.sort(d[~s])
    allowed = int(np.floor(target_far * len(impostors) + 1e-9))
    if allowed >= len(impostors):
        return float(d.max())
    return float(np.nextafter(impostors[allowed], -np.inf))


def tar_at_far(distances: np.ndarray, same: np.ndarray, target_far: float) -> float:
    """TAR at the threshold :func:`calibrate` picks for ``target_far``."""
    d, s = _check(distances, same)
    return float(np.mean(d[s] <= calibrate(d, s, target_far)))


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The threshold with the highest accuracy on these pairs, and that accuracy.

    Candidates are midpoints between consecutive distinct distances (plus the ends).
    """
    d, s = _check(distances, same)
    order = np.argsort(d, kind="stable")
    d, s = d[order], s[order]
    last_of_value = np.r_[d[1:] != d[:-1], True]
    # correct(t) = genuine accepted (d <= t) + impostors rejected (d > t), after each distinct value.
    correct = np.cumsum(s)[last_of_value] + ((~s).sum() - np.cumsum(~s)[last_of_value])
    values = d[last_of_value]
    candidates = np.r_[(~s).sum(), correct]  # first entry: threshold below everything
    best = int(np.argmax(candidates))
    if best == 0:
        return float(np.nextafter(values[0], -np.inf)), float(candidates[0] / len(d))
    i = best - 1
    upper = values[i + 1] if i + 1 < len(values) else values[i]
    return float((values[i] + upper) / 2.0), float(candidates[best] / len(d))


@dataclass(frozen=True)
class FoldAccuracy:
    """k-fold verification accuracy: per-fold accuracies and the thresholds chosen without that fold."""

    accuracies: np.ndarray
    thresholds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.accuracies.mean())

    @property
    def std(self) -> float:
        return float(self.accuracies.std())

    @property
    def threshold(self) -> float:
        return float(np.median(self.thresholds))


def kfold_accuracy(distances: np.ndarray, same: np.ndarray, folds: int = 10, seed: int = 0) -> FoldAccuracy:
    """LFW's protocol: for each of ``folds`` folds, pick the best threshold on the *other* folds and
    measure accuracy on this one; the test pairs never choose their own threshold.

    Pairs are shuffled (``seed``) and dealt into folds stratified by label, so every fold has
    both kinds.
    """
    d, s = _check(distances, same)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(d), dtype=np.int64)
    for label in (True, False):
        idx = np.flatnonzero(s == label)
        rng.shuffle(idx)
        fold_of[idx] = np.arange(len(idx)) % folds
    accuracies, thresholds = [], []
    for k in range(folds):
        test = fold_of == k
        threshold, _ = best_threshold(d[~test], s[~test])
        accuracies.append(float(np.mean((d[test] <= threshold) == s[test])))
        thresholds.append(threshold)
    return FoldAccuracy(np.asarray(accuracies), np.asarray(thresholds))


def roc_plot_png(
    distances: np.ndarray,
    same: np.ndarray,
    path_or_buffer: str | Path | BinaryIO,
    threshold: float | None = None,
    title: str = "Face verification ROC",
) -> None:
    """Write the ROC (TAR against FAR, log-scaled FAR axis) as a PNG; mark ``threshold`` if given."""
    import matplotlib

    matplotlib.use("Agg")  # headless: workers and CI have no display
    from matplotlib.figure import Figure

    far, tar, thresholds = roc(distances, same)
    n_impostors = int((~np.asarray(same, dtype=bool)).sum())
    figure = Figure(figsize=(5.5, 4.5), dpi=100)
    axes = figure.add_subplot()
    floor = 1.0 / max(n_impostors, 1)
    axes.plot(np.maximum(far, floor / 2), tar, lw=2, label=f"AUC {auc(distances, same):.4f}")
    if threshold is not None:
        i = int(np.clip(np.searchsorted(thresholds, threshold, side="right") - 1, 0, len(far) - 1))
        axes.plot([max(far[i], floor / 2)], [tar[i]], "o", color="C3", label=f"threshold {threshold:.3f}")
    axes.set_xscale("log")
    axes.set_xlim(floor / 2, 1.0)
    axes.set_ylim(0.0, 1.01)
    axes.set_xlabel(f"false accept rate ({n_impostors} impostor pairs)")
    axes.set_ylabel("true accept rate")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path_or_buffer, format="png")
