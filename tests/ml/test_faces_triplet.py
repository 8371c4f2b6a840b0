"""Triplet loss and online mining on hand-made examples; fine-tuning lowers the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.faces.triplet import (
    ProjectionHead,
    batch_hard_triplets,
    fine_tune,
    mean_mined_loss,
    semi_hard_triplets,
    triplet_loss,
)

# Points on a line, so every distance is obvious. Person 0 at 0, 1, 3; person 1 at 1.5, 5, 9.
POINTS = torch.tensor([[0.0], [1.0], [3.0], [1.5], [5.0], [9.0]])
LABELS = torch.tensor([0, 0, 0, 1, 1, 1])


def test_triplet_loss_formula():
    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    assert triplet_loss(a, p, n, margin=0.5).item() == pytest.approx(0.0)  # 1 - 4 + 0.5 < 0
    assert triplet_loss(a, n, p, margin=0.5).item() == pytest.approx(3.5)  # 4 - 1 + 0.5


def test_batch_hard_picks_the_farthest_positive_and_the_closest_negative():
    anchors, positives, negatives = batch_hard_triplets(POINTS, LABELS)
    assert anchors.tolist() == [0, 1, 2, 3, 4, 5]
    # anchor 0 (at 0): farthest positive is 3 (index 2), closest negative is 1.5 (index 3)
    # anchor 3 (at 1.5): farthest positive is 9 (index 5), closest negative is 1 (index 1)
    # anchor 4 (at 5): positives at 3.5 and 4 away → 9 (index 5); closest negative is 3 (index 2)
    assert positives.tolist() == [2, 2, 0, 5, 5, 3]
    assert negatives.tolist() == [3, 3, 3, 1, 2, 2]


def test_semi_hard_picks_the_closest_negative_beyond_the_positive_within_the_margin():
    anchors, positives, negatives = semi_hard_triplets(POINTS, LABELS, margin=3.0)
    chosen = {(a, p): n for a, p, n in zip(anchors.tolist(), positives.tolist(), negatives.tolist(), strict=True)}
    # anchor 0, positive 1 (d_ap = 1): negatives at squared distance 2.25 (1.5), 25, 81 → 2.25 is in (1, 4).
    assert chosen[(0, 1)] == 3
    # anchor 1, positive 0 (d_ap = 1): negatives at 0.25, 16, 64 → none in (1, 4): the pair is dropped.
    assert (1, 0) not in chosen
    # anchor 2 (at 3), positive 0 (d_ap = 9): negatives at 2.25, 4, 36 → none in (9, 12): dropped.
    assert (2, 0) not in chosen
    for a, p, n in zip(anchors.tolist(), positives.tolist(), negatives.tolist(), strict=True):
        d_ap = float((POINTS[a] - POINTS[p]).pow(2).sum())
        d_an = float((POINTS[a] - POINTS[n]).pow(2).sum())
        assert LABELS[a] == LABELS[p] != LABELS[n] and d_ap < d_an < d_ap + 3.0


def test_anchors_without_a_positive_are_skipped():
    anchors, _, _ = batch_hard_triplets(torch.tensor([[0.0], [1.0], [2.0]]), torch.tensor([0, 0, 1]))
    assert anchors.tolist() == [0, 1]


def test_projection_head_starts_as_the_identity():
    x = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    assert torch.allclose(ProjectionHead(8)(x), x, atol=1e-6)


@pytest.mark.parametrize("mining", ["batch-hard", "semi-hard"])
def test_fine_tuning_lowers_the_mined_loss(mining):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16))
    labels = np.repeat(np.arange(10), 6)
    x = centres[labels] + 0.9 * rng.normal(size=(60, 16))  # overlapping identities: a real loss to lower
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    before = mean_mined_loss(ProjectionHead(16), x, labels, mining="batch-hard")
    result = fine_tune(x, labels, epochs=40, mining=mining, lr=1e-2, seed=0)
    after = mean_mined_loss(result.head, x, labels, mining="batch-hard")
    assert before > 0.1 and after < 0.7 * before
    assert len(result.losses) == 40
