"""ROC, calibration, EER, k-fold accuracy and the ROC plot on pairs whose answers are known."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ml.faces.evaluate import calibrate, roc, roc_plot_png
from ml.faces.metrics import auc, best_threshold, eer, kfold_accuracy, tar_at_far


def test_roc_on_a_hand_made_example():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    same = np.array([True, True, False, True, False, False])
    far, tar, thresholds = roc(distances, same)
    assert thresholds[0] < 0.1 and far[0] == 0 and tar[0] == 0
    assert np.allclose(thresholds[1:], distances)
    assert np.allclose(tar[1:], [1 / 3, 2 / 3, 2 / 3, 1, 1, 1])
    assert np.allclose(far[1:], [0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert auc(distances, same) == pytest.approx(8 / 9)


def test_calibrate_meets_the_target_far_exactly_on_its_pairs():
    rng = np.random.default_rng(0)
    impostors = rng.uniform(0.05, 1.0, size=10_000)
    genuine = rng.uniform(0.0, 0.3, size=500)
    distances = np.r_[genuine, impostors]
    same = np.r_[np.ones(500, bool), np.zeros(10_000, bool)]
    for target in (1e-1, 1e-2, 1e-3):
        threshold = calibrate(distances, same, target)
        measured = np.mean(impostors <= threshold)
        assert measured <= target
        assert measured >= target - 1.5 / len(impostors)  # the largest such threshold, not a timid one
    assert calibrate(distances, same, 0.0) < impostors.min()
    assert tar_at_far(distances, same, 1e-2) == pytest.approx(np.mean(genuine <= calibrate(distances, same, 1e-2)))


def test_eer_is_where_far_equals_frr():
    rng = np.random.default_rng(1)
    genuine, impostors = rng.normal(0.3, 0.1, 4000), rng.normal(0.7, 0.1, 4000)
    distances, same = np.r_[genuine, impostors], np.r_[np.ones(4000, bool), np.zeros(4000, bool)]
    rate, threshold = eer(distances, same)
    assert threshold == pytest.approx(0.5, abs=0.02)
    assert rate == pytest.approx(0.0228, abs=0.006)  # Φ(-2) for two unit-σ-apart Gaussians


def test_best_threshold_and_kfold_accuracy_choose_thresholds_on_held_back_folds():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6] * 10)
    same = np.array([True, True, True, False, False, False] * 10)
    threshold, accuracy = best_threshold(distances, same)
    assert 0.3 < threshold < 0.4 and accuracy == 1.0
    folded = kfold_accuracy(distances, same, folds=10)
    assert len(folded.accuracies) == 10 and folded.mean == 1.0
    assert all(0.3 < t < 0.4 for t in folded.thresholds)


def test_kfold_accuracy_is_not_fitted_to_the_test_pairs():
    # Pure noise: a threshold picked on the test pairs would look better than chance; held-back folds don't.
    rng = np.random.default_rng(2)
    distances = rng.uniform(size=200)
    same = rng.uniform(size=200) < 0.5
    assert kfold_accuracy(distances, same).mean < best_threshold(distances, same)[1]


def test_metrics_reject_single_class_input():
    with pytest.raises(ValueError, match="both genuine and impostor"):
        roc(np.array([0.1, 0.2]), np.array([True, True]))


def test_roc_plot_is_a_png():
    rng = np.random.default_rng(3)
    distances = np.r_[rng.uniform(0, 0.5, 100), rng.uniform(0.3, 1, 1000)]
    same = np.r_[np.ones(100, bool), np.zeros(1000, bool)]
    buffer = io.BytesIO()
    roc_plot_png(distances, same, buffer, threshold=0.4)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    assert image.format == "PNG" and image.size == (550, 450)
