"""Triplet loss with online mining, and fine-tuning a small projection head on frozen embeddings.

L(A, P, N) = max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)  (Schroff et al., FaceNet, 2015).

Mining happens inside each batch ("online"): for every anchor,

* **batch-hard** takes its farthest positive and closest negative (Hermans et al., 2017);
* **semi-hard** keeps every anchor–positive pair and takes the closest negative that is still
  farther than the positive (``d_ap < d_an < d_ap + α``), FaceNet's choice, which avoids the
  collapsed solutions that the very hardest negatives can cause early in training.

The embedders' backbones stay frozen (there is no labelled face set large enough here to
retrain a 27M-parameter network); :class:`ProjectionHead` is a d×d linear map initialised to the
identity, so before training it reproduces the embedder exactly and training can only move away
from that as far as the data asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def squared_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """All squared Euclidean distances between rows of (B, d) ``embeddings``: (B, B), ≥ 0."""
    gram = embeddings @ embeddings.T
    norms = gram.diagonal()
    return (norms[:, None] - 2.0 * gram + norms[None, :]).clamp_min(0.0)


def triplet_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.2
) -> torch.Tensor:
    """Mean of max(‖a − p‖² − ‖a − n‖² + margin, 0) over (T, d) triplets; 0-d tensor (0 for T = 0)."""
    if len(anchor) == 0:
        return anchor.sum() * 0.0
    d_ap = (anchor - positive).pow(2).sum(dim=1)
    d_an = (anchor - negative).pow(2).sum(dim=1)
    return F.relu(d_ap - d_an + margin).mean()


def _masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def batch_hard_triplets(embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Indices ``(anchor, positive, negative)``, each (T,) int64: for every anchor that has both a
    positive and a negative in the batch, its farthest positive and its closest negative."""
    with torch.no_grad():
        distances = squared_distances(embeddings)
        positive, negative = _masks(labels)
        usable = positive.any(dim=1) & negative.any(dim=1)
        hardest_positive = distances.masked_fill(~positive, -1.0).argmax(dim=1)
        hardest_negative = distances.masked_fill(~negative, float("inf")).argmin(dim=1)
        anchors = torch.nonzero(usable).flatten()
    return anchors, hardest_positive[anchors], hardest_negative[anchors]


def semi_hard_triplets(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> tuple[torch.Tensor, ...]:
    """Indices ``(anchor, positive, negative)``: for every anchor–positive pair, the closest negative
    with ``d_ap < d_an < d_ap + margin`` (squared distances); pairs with no such negative are dropped."""
    with torch.no_grad():
        distances = squared_distances(embeddings)
        positive, negative = _masks(labels)
        anchors, positives = torch.nonzero(positive, as_tuple=True)
        d_ap = distances[anchors, positives][:, None]
        d_an = distances[anchors]
        window = negative[anchors] & (d_an > d_ap) & (d_an < d_ap + margin)
        chosen = d_an.masked_fill(~window, float("inf")).argmin(dim=1)
        keep = window.any(dim=1)
    return anchors[keep], positives[keep], chosen[keep]


def mined_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2, mining: str = "batch-hard"
) -> tuple[torch.Tensor, int]:
    """Triplet loss of ``embeddings`` (B, d) with ``labels`` (B,) under ``mining``; returns (loss, triplets)."""
    if mining == "batch-hard":
        a, p, n = batch_hard_triplets(embeddings, labels)
    elif mining == "semi-hard":
        a, p, n = semi_hard_triplets(embeddings, labels, margin)
    else:
        raise ValueError(f"mining must be 'batch-hard' or 'semi-hard', not {mining!r}")
    return triplet_loss(embeddings[a], embeddings[p], embeddings[n], margin), len(a)


class ProjectionHead(nn.Module):
    """x ↦ normalise(W x + b) on (B, d) embeddings, W initialised to the identity and b to zero."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(dim))
            self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.linear(x), dim=1)

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """Apply to a NumPy (N, d) array; float32 (N, d), unit rows."""
        with torch.inference_mode():
            return self(torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)).numpy()


@dataclass
class FineTuneResult:
    head: ProjectionHead
    losses: list[float] = field(default_factory=list)  # mean mined loss per epoch


def _pk_batches(labels: np.ndarray, people: int, per_person: int, rng: np.random.Generator) -> list[np.ndarray]:
    """P×K batches (``people`` identities × up to ``per_person`` photos); identities with one photo are skipped."""
    by_person = [np.flatnonzero(labels == p) for p in np.unique(labels)]
    by_person = [idx for idx in by_person if len(idx) >= 2]
    order = rng.permutation(len(by_person))
    batches = []
    for start in range(0, len(order), people):
        chosen = [by_person[i] for i in order[start : start + people]]
        if len(chosen) < 2:
            continue
        batches.append(np.concatenate([rng.permutation(idx)[:per_person] for idx in chosen]))
    return batches


def mean_mined_loss(
    head: nn.Module, embeddings: np.ndarray, labels: np.ndarray, margin: float = 0.2, mining: str = "batch-hard"
) -> float:
    """The mined triplet loss over the whole set as one batch (what training lowers)."""
    with torch.no_grad():
        x = head(torch.as_tensor(embeddings, dtype=torch.float32))
        loss, _ = mined_loss(x, torch.as_tensor(labels), margin, mining)
    return float(loss)


def fine_tune(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 60,
    margin: float = 0.2,
    mining: str = "batch-hard",
    lr: float = 1e-3,
    identity_pull: float = 1e-2,
    people_per_batch: int = 8,
    photos_per_person: int = 4,
    seed: int = 0,
) -> FineTuneResult:
    """Train a :class:`ProjectionHead` on frozen (N, d) embeddings with identity ``labels`` (N,).

    Adam on the mined triplet loss over P×K batches; ``identity_pull`` adds λ‖W − I‖² so the head
    stays near the embedder it started from (with a few dozen people, it would otherwise overfit
    them and lose what the backbone learned from millions of faces).
    """
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(labels))
    head = ProjectionHead(x.shape[1])  # initialised to the identity: no torch randomness to seed
    eye = torch.eye(x.shape[1])
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    result = FineTuneResult(head)
    for _ in range(epochs):
        epoch_losses = []
        for batch in _pk_batches(np.asarray(labels), people_per_batch, photos_per_person, rng):
            index = torch.as_tensor(batch)
            loss, count = mined_loss(head(x[index]), y[index], margin, mining)
            if count == 0:
                continue
            total = loss + identity_pull * (head.linear.weight - eye).pow(2).sum()
            optimiser.zero_grad()
            total.backward()
            optimiser.step()
            epoch_losses.append(loss.item())
        result.losses.append(float(np.mean(epoch_losses)) if epoch_losses else 0.0)
    head.eval()
    return result
