"""Calibration and evaluation of a detector + embedder on folder-per-identity photos.

Protocol (for a folder ``root/<person>/<photo>``, one face per photo — the largest):

* **Verification accuracy**, LFW-style: every genuine pair plus as many impostor pairs drawn at
  random (seeded), 10 folds; each fold's threshold is the best one on the other nine folds.
* **ROC, AUC, EER, TAR at FAR 1e-2 / 1e-3 and the threshold for a target FAR** on *all* pairs
  (thousands of impostors, so a FAR of 1e-3 is actually measurable).
* **Open-set identification**: a seeded share of the people is left out of the gallery entirely
  (they must be rejected as unknown); for the rest, the first half of their photos (at least
  one) form the gallery and the others are probes. At the verification threshold a probe is
  "identified" if its nearest gallery face is within it and is the right person; an unknown is
  "rejected" if no gallery face is within it. An unknown face gets one chance of a false accept per
  gallery face, so the verification threshold rejects fewer unknowns than its pair FAR suggests;
  the report also gives the figures at the strictest target-FAR threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ml.faces.dataset import FaceSet, embed_folder
from ml.faces.metrics import (
    auc,
    calibrate,
    eer,
    kfold_accuracy,
    roc,
    roc_plot_png,
    tar_at_far,
)
from ml.faces.verify import pairwise_distances

if TYPE_CHECKING:
    from ml.faces.detect import FaceDetector
    from ml.faces.embedders import Embedder

__all__ = [
    "OpenSetResult",
    "Report",
    "all_pairs",
    "balanced_pairs",
    "calibrate",
    "evaluate_faceset",
    "evaluate_folder",
    "open_set_identification",
    "roc",
    "roc_plot_png",
]


def all_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair ``(i, j, same)`` of the N labelled faces: int64, int64, bool, each (N(N-1)/2,)."""
    i, j = np.triu_indices(len(labels), k=1)
    return i, j, labels[i] == labels[j]


def balanced_pairs(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All genuine pairs and an equal number of random impostor pairs (as LFW balances 3000/3000)."""
    i, j, same = all_pairs(labels)
    rng = np.random.default_rng(seed)
    impostors = np.flatnonzero(~same)
    chosen = np.sort(rng.choice(impostors, size=min(int(same.sum()), len(impostors)), replace=False))
    keep = np.r_[np.flatnonzero(same), chosen]
    return i[keep], j[keep], same[keep]


def _pair_distances(embeddings: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    e = embeddings.astype(np.float64)
    return np.clip(1.0 - np.sum(e[i] * e[j], axis=1), 0.0, 2.0)


@dataclass(frozen=True)
class OpenSetResult:
    """Open-set identification at one threshold."""

    threshold: float
    gallery_faces: int
    known_probes: int
    unknown_probes: int
    top1: float  # known probes whose nearest gallery face is theirs, ignoring the threshold
    identified: float  # ... and within the threshold: what the app would actually name correctly
    rejected: float  # unknown probes with no gallery face within the threshold


def open_set_identification(
    faces: FaceSet, threshold: float, unknown_share: float = 0.3, seed: int = 0
) -> OpenSetResult:
    """Gallery/probe split and identification (see the module docstring); cosine distance."""
    people = np.unique(faces.labels)
    rng = np.random.default_rng(seed)
    unknown = rng.choice(people, size=max(1, round(unknown_share * len(people))), replace=False)
    is_unknown = np.isin(faces.labels, unknown)
    in_gallery = np.zeros(len(faces.labels), dtype=bool)
    is_probe = is_unknown.copy()
    for person in np.setdiff1d(people, unknown):
        idx = np.flatnonzero(faces.labels == person)
        cut = max(1, len(idx) // 2)
        in_gallery[idx[:cut]] = True
        is_probe[idx[cut:]] = True
    distances = pairwise_distances(faces.embeddings[is_probe], faces.embeddings[in_gallery])
    nearest = distances.argmin(axis=1)
    nearest_distance = distances[np.arange(len(nearest)), nearest]
    right = faces.labels[in_gallery][nearest] == faces.labels[is_probe]
    probe_unknown = is_unknown[is_probe]
    known = ~probe_unknown
    return OpenSetResult(
        threshold=float(threshold),
        gallery_faces=int(in_gallery.sum()),
        known_probes=int(known.sum()),
        unknown_probes=int(probe_unknown.sum()),
        top1=float(right[known].mean()) if known.any() else float("nan"),
        identified=float((right & (nearest_distance <= threshold))[known].mean()) if known.any() else float("nan"),
        rejected=float((nearest_distance[probe_unknown] > threshold).mean()) if probe_unknown.any() else float("nan"),
    )


@dataclass
class Report:
    """Everything :func:`evaluate_folder` measured; :meth:`table` formats it for people."""

    embedder: str
    people: int
    faces: int
    skipped: int
    accuracy: float
    accuracy_std: float
    accuracy_threshold: float
    balanced_pairs: int
    genuine_pairs: int
    impostor_pairs: int
    auc: float
    eer: float
    eer_threshold: float
    tar_at_far: dict[float, float]
    threshold_at_far: dict[float, float]
    open_set: OpenSetResult  # at the verification threshold
    open_set_strict: OpenSetResult  # at the threshold for the smallest target FAR
    distances: np.ndarray = field(repr=False)
    same: np.ndarray = field(repr=False)

    def table(self) -> str:
        rows = [
            ("accuracy (10-fold, balanced pairs)", f"{self.accuracy:.2%} ± {self.accuracy_std:.2%}"),
            ("threshold chosen on held-back folds", f"{self.accuracy_threshold:.4f} cosine"),
            ("ROC AUC (all pairs)", f"{self.auc:.5f}"),
            ("EER", f"{self.eer:.2%} at {self.eer_threshold:.4f}"),
        ]
        for far, tar in self.tar_at_far.items():
            rows.append((f"TAR @ FAR={far:g}", f"{tar:.2%} (threshold {self.threshold_at_far[far]:.4f})"))
        o = self.open_set
        rows += [
            ("open-set top-1 (known probes)", f"{o.top1:.2%} ({o.known_probes} probes, {o.gallery_faces} in gallery)"),
            ("open-set identified within threshold", f"{o.identified:.2%}"),
            ("open-set rejection (unknown probes)", f"{o.rejected:.2%} ({o.unknown_probes} probes)"),
            (
                f"  … at the FAR={min(self.tar_at_far):g} threshold",
                f"identified {self.open_set_strict.identified:.2%}, rejected {self.open_set_strict.rejected:.2%}",
            ),
            ("embedder", self.embedder),
            ("people / faces / photos skipped", f"{self.people} / {self.faces} / {self.skipped}"),
            (
                "pairs: balanced / genuine / impostor",
                f"{self.balanced_pairs} / {self.genuine_pairs} / {self.impostor_pairs}",
            ),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)

    def to_dict(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "people": self.people,
            "faces": self.faces,
            "skipped": self.skipped,
            "accuracy": self.accuracy,
            "accuracy_std": self.accuracy_std,
            "threshold": self.accuracy_threshold,
            "auc": self.auc,
            "eer": self.eer,
            "eer_threshold": self.eer_threshold,
            "tar_at_far": {str(k): v for k, v in self.tar_at_far.items()},
            "threshold_at_far": {str(k): v for k, v in self.threshold_at_far.items()},
            "open_set": self.open_set.__dict__,
            "open_set_strict": self.open_set_strict.__dict__,
            "pairs": {"balanced": self.balanced_pairs, "genuine": self.genuine_pairs, "impostor": self.impostor_pairs},
        }

    def roc_png(self, path_or_buffer: str | Path | BinaryIO) -> None:
        roc_plot_png(
            self.distances, self.same, path_or_buffer, threshold=self.accuracy_threshold, title=f"ROC — {self.embedder}"
        )


def evaluate_faceset(
    faces: FaceSet,
    embedder_name: str,
    folds: int = 10,
    target_fars: tuple[float, ...] = (1e-2, 1e-3),
    seed: int = 0,
    skipped: int = 0,
) -> Report:
    """All the metrics for already embedded faces (see the module docstring for the protocol)."""
    bi, bj, bsame = balanced_pairs(faces.labels, seed)
    folded = kfold_accuracy(_pair_distances(faces.embeddings, bi, bj), bsame, folds=folds, seed=seed)
    i, j, same = all_pairs(faces.labels)
    distances = _pair_distances(faces.embeddings, i, j)
    rate, rate_threshold = eer(distances, same)
    return Report(
        embedder=embedder_name,
        people=len(np.unique(faces.labels)),
        faces=len(faces.labels),
        skipped=skipped,
        accuracy=folded.mean,
        accuracy_std=folded.std,
        accuracy_threshold=folded.threshold,
        balanced_pairs=len(bsame),
        genuine_pairs=int(same.sum()),
        impostor_pairs=int((~same).sum()),
        auc=auc(distances, same),
        eer=rate,
        eer_threshold=rate_threshold,
        tar_at_far={far: tar_at_far(distances, same, far) for far in target_fars},
        threshold_at_far={far: calibrate(distances, same, far) for far in target_fars},
        open_set=open_set_identification(faces, folded.threshold, seed=seed),
        open_set_strict=open_set_identification(faces, calibrate(distances, same, min(target_fars)), seed=seed),
        distances=distances,
        same=same,
    )


def evaluate_folder(
    path: str | Path,
    embedder: Embedder,
    detector: FaceDetector,
    folds: int = 10,
    target_fars: tuple[float, ...] = (1e-2, 1e-3),
    seed: int = 0,
) -> Report:
    """Detect, embed and evaluate every photo under ``path/<person>/`` (see module docstring)."""
    faces = embed_folder(path, embedder, detector)
    return evaluate_faceset(faces, embedder.name, folds, target_fars, seed, skipped=len(faces.skipped))
