"""Gatys optimisation on a random-weight VGG19 (the ImageNet weights are not available offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml.images import open_image
from ml.style import color
from ml.style.gatys import Cancelled, GatysParams, Progress, estimate, load_vgg19, run_gatys
from ml.style.imaging import to_tensor
from ml.style.losses import gram_matrix, total_variation
from ml.weights import MissingWeightsError

SMALL = {"size": 48, "iterations": 3}


@pytest.fixture(scope="module")
def vgg():
    return load_vgg19(random_weights=True, device="cpu")


@pytest.fixture(scope="module")
def images(testdata: Path) -> dict[str, Image.Image]:
    def load(path: Path) -> Image.Image:
        image = open_image(path)
        image.thumbnail((128, 128))
        return image

    return {
        "content": load(testdata / "style" / "content" / "tubingen.jpg"),
        "starry": load(testdata / "style" / "styles" / "starry_night.jpg"),
        "wave": load(testdata / "style" / "styles" / "wave.jpg"),
    }


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_gram_matrix_matches_a_hand_computation():
    # two channels over a 2×2 image: a = [1, 2, 3, 4], b = [0, 1, 0, 1]
    features = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    # a·a = 30, a·b = 6, b·b = 2; normalised by C·H·W = 2·2·2 = 8
    expected = torch.tensor([[[30.0, 6.0], [6.0, 2.0]]]) / 8
    torch.testing.assert_close(gram_matrix(features), expected)


def test_total_variation_of_a_flat_image_is_zero_and_of_a_checkerboard_is_large():
    assert total_variation(torch.full((1, 3, 8, 8), 0.5)).item() == 0
    board = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2
    assert total_variation(board.float().expand(1, 3, 8, 8)).item() == pytest.approx(2.0)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_losses_fall_over_20_iterations(vgg, images, optimizer):
    reports: list[Progress] = []
    # Random VGG activations are tiny, so the weights are scaled to make style and content matter.
    params = GatysParams(
        size=48, iterations=20, optimizer=optimizer, style_weight=1e3, content_weight=1e3, init="noise"
    )
    out = run_gatys(images["content"], [(images["starry"], 1.0)], params, net=vgg, on_progress=reports.append)
    assert out.size == (48, 36)
    assert [r.iteration for r in reports] == list(range(1, 21))
    assert reports[-1].loss < 0.5 * reports[0].loss
    assert reports[-1].style_loss < reports[0].style_loss
    assert all(r.elapsed >= 0 and r.total == 20 for r in reports)


def test_the_same_seed_gives_an_identical_cpu_render_and_another_seed_does_not(vgg, images):
    def render(seed: int) -> np.ndarray:
        params = GatysParams(**SMALL, init="noise", seed=seed)
        return _array(run_gatys(images["content"], [(images["wave"], 1.0)], params, net=vgg))

    first = render(7)
    assert np.array_equal(first, render(7))
    assert not np.array_equal(first, render(8))


def test_should_stop_cancels_within_one_iteration(vgg, images):
    reports: list[Progress] = []
    params = GatysParams(size=48, iterations=50)
    with pytest.raises(Cancelled) as caught:
        run_gatys(
            images["content"],
            [(images["starry"], 1.0)],
            params,
            net=vgg,
            on_progress=reports.append,
            should_stop=lambda: len(reports) >= 2,
        )
    assert len(reports) == 2 and caught.value.iteration == 2
    assert caught.value.partial is not None and caught.value.partial.size == (48, 36)


def test_previews_arrive_every_n_iterations(vgg, images):
    reports: list[Progress] = []
    run_gatys(
        images["content"],
        [(images["starry"], 1.0)],
        GatysParams(size=48, iterations=4),
        net=vgg,
        on_progress=reports.append,
        preview_every=2,
    )
    assert [r.preview is not None for r in reports] == [False, True, False, True]
    assert reports[1].preview.size == (48, 36)


def test_luminance_only_transfer_keeps_the_photos_chroma(vgg, images):
    params = GatysParams(size=48, iterations=3, color="luminance", init="noise", style_weight=1e4)
    out = run_gatys(images["content"], [(images["starry"], 1.0)], params, net=vgg)
    photo = images["content"].resize(out.size, Image.Resampling.LANCZOS)
    uv_out = color.rgb_to_yuv(to_tensor(out))[:, 1:]
    uv_photo = color.rgb_to_yuv(to_tensor(photo))[:, 1:]
    assert (uv_out - uv_photo).abs().mean().item() < 0.02
    plain = run_gatys(
        images["content"], [(images["starry"], 1.0)], GatysParams(size=48, iterations=3, init="noise"), net=vgg
    )
    assert (color.rgb_to_yuv(to_tensor(plain))[:, 1:] - uv_photo).abs().mean().item() > 0.03


def test_histogram_matching_gives_the_style_the_photos_colour_statistics(images):
    content = to_tensor(images["content"])
    style = to_tensor(images["starry"])
    matched = color.match_color(style, content)
    for stat in (lambda t: t.mean(dim=(2, 3)), lambda t: t.std(dim=(2, 3))):
        assert (stat(matched) - stat(content)).abs().max() < 0.03
        assert (stat(style) - stat(content)).abs().max() > 0.05


def test_a_zero_weight_style_changes_nothing_and_blends_differ(vgg, images):
    params = GatysParams(**SMALL)
    alone = _array(run_gatys(images["content"], [(images["starry"], 1.0)], params, net=vgg))
    with_zero = _array(run_gatys(images["content"], [(images["starry"], 2.0), (images["wave"], 0.0)], params, net=vgg))
    assert np.array_equal(alone, with_zero)
    blend = _array(run_gatys(images["content"], [(images["starry"], 1.0), (images["wave"], 1.0)], params, net=vgg))
    assert not np.array_equal(alone, blend)


def test_coarse_to_fine_levels_double_the_size(vgg, images):
    reports: list[Progress] = []
    params = GatysParams(size=64, iterations=4, levels=2)
    out = run_gatys(images["content"], [(images["wave"], 1.0)], params, net=vgg, on_progress=reports.append)
    assert out.size == (64, 48)
    assert [(r.level, r.size) for r in reports] == [(0, (32, 24))] * 4 + [(1, (64, 48))] * 2


def test_levels_over_the_memory_budget_are_replaced_by_guided_upsampling(vgg, images):
    reports: list[Progress] = []
    params = GatysParams(size=512, iterations=2, levels=3, memory_budget=200 * 2**20)  # room for 128 px only
    out = run_gatys(images["content"], [(images["wave"], 1.0)], params, net=vgg, on_progress=reports.append)
    assert out.size == (512, 384)
    assert {r.size for r in reports} == {(128, 96)}


def test_early_stop_on_a_plateau(vgg, images):
    reports: list[Progress] = []
    params = GatysParams(size=48, iterations=30, plateau_tolerance=10.0, plateau_patience=2)
    run_gatys(images["content"], [(images["wave"], 1.0)], params, net=vgg, on_progress=reports.append)
    assert len(reports) == 3


def test_estimate_grows_with_size_and_iterations_and_lbfgs_needs_more_memory():
    small = estimate(GatysParams(size=256, iterations=100), (800, 600), "cpu")
    large = estimate(GatysParams(size=512, iterations=100), (800, 600), "cpu")
    longer = estimate(GatysParams(size=256, iterations=200), (800, 600), "cpu")
    adam = estimate(GatysParams(size=256, iterations=100, optimizer="adam"), (800, 600), "cpu")
    assert large.peak_bytes > 3 * small.peak_bytes and large.seconds > 3 * small.seconds
    assert longer.seconds == pytest.approx(2 * small.seconds, rel=0.3)
    assert adam.peak_bytes < small.peak_bytes
    assert 50 * 2**20 < small.peak_bytes < 2 * 2**30


def test_bad_options_are_rejected_with_clear_messages(vgg, images):
    with pytest.raises(ValueError, match="optimizer"):
        GatysParams(optimizer="sgd")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one weight per style layer"):
        GatysParams(style_layer_weights=(1.0,))
    with pytest.raises(ValueError, match="no layer"):
        run_gatys(
            images["content"], [(images["wave"], 1.0)], GatysParams(**SMALL, content_layers=("conv9_9",)), net=vgg
        )
    with pytest.raises(ValueError, match="at least one style"):
        run_gatys(images["content"], [], GatysParams(**SMALL), net=vgg)


def test_quality_presets():
    assert GatysParams.for_quality("draft").size < GatysParams.for_quality("best").size
    assert GatysParams.for_quality("best").level_sizes() == [512, 1024]
    assert GatysParams.for_quality("standard", iterations=10).iterations == 10
    assert GatysParams(size=2048, levels=None).level_sizes() == [512, 1024, 2048]
    with pytest.raises(ValueError):
        GatysParams.for_quality("ultra")


def test_missing_vgg19_weights_raise_a_clear_error(tmp_path, monkeypatch, images):
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MissingWeightsError, match=r"vgg19-dcbabe56\.pth") as caught:
        load_vgg19()
    assert "fetch" in str(caught.value)
    with pytest.raises(MissingWeightsError, match=r"vgg19-dcbabe56\.pth"):
        run_gatys(images["content"], [(images["wave"], 1.0)], GatysParams(**SMALL), device="cpu")


# --- MobileNet-v2 (the offline loss network, real weights) and per-network options -------------


@pytest.fixture(scope="module")
def mobilenet():
    from ml.style.networks import load_network

    return load_network("mobilenet-v2", device="cpu")


def test_on_mobilenet_the_style_loss_falls_and_the_image_moves_towards_the_painting(mobilenet, images):
    reports: list[Progress] = []
    params = GatysParams.for_quality("draft", size=64, iterations=15)
    assert params.network == "mobilenet-v2" and params.spec.normalize_losses
    out = run_gatys(images["content"], [(images["starry"], 1.0)], params, net=mobilenet, on_progress=reports.append)
    assert out.size == (64, 48)
    assert reports[-1].style_loss < 0.5 * reports[0].style_loss
    # starting from the photo, the content term starts at zero and grows as the style comes in
    assert reports[0].content_loss == pytest.approx(0.0, abs=1e-6) and reports[-1].content_loss > 0
    photo = _array(images["content"].resize(out.size, Image.Resampling.LANCZOS))
    assert np.abs(_array(out) - photo).mean() > 5


def test_each_network_has_its_own_layers_and_defaults():
    mobile = GatysParams.for_network("mobilenet-v2")
    vgg19 = GatysParams.for_network("vgg19")
    assert mobile.content_layers == ("expanded_conv_10/expand",) and mobile.style_weight == 1e3
    assert vgg19.content_layers == ("conv4_2",) and vgg19.style_weight == 1e6
    with pytest.raises(ValueError, match="vgg19 has no layer"):
        GatysParams.for_network("vgg19", style_layers=("Conv",))
    with pytest.raises(ValueError, match="no pooling"):
        GatysParams.for_network("mobilenet-v2", pooling="avg")
    with pytest.raises(ValueError, match="network must be one of"):
        GatysParams.for_network("resnet50")


def test_layer_presets_pick_each_networks_layers_and_weights():
    coarse = GatysParams.for_network("mobilenet-v2", layer_preset="coarse")
    assert coarse.style_layers[-1] == "expanded_conv_10/expand" and len(coarse.style_layers) == 3
    ramp = GatysParams.for_network("vgg19", layer_preset="deep-weighted")
    assert ramp.layer_weights()[-1] > ramp.layer_weights()[0]
    with pytest.raises(ValueError, match="layer_preset"):
        GatysParams.for_network("vgg19", layer_preset="nope")


def test_a_network_that_does_not_match_the_params_is_refused(vgg, images):
    with pytest.raises(ValueError, match="params are for mobilenet-v2"):
        run_gatys(images["content"], [(images["starry"], 1.0)], GatysParams.for_network(size=32, iterations=1), net=vgg)


def test_the_estimate_follows_the_network_and_a_measured_throughput(mobilenet):
    mobile = GatysParams.for_quality("draft")
    vgg19 = GatysParams.for_quality("draft", network="vgg19", iterations=100)
    flops = 1e10
    # VGG19 needs far more arithmetic per iteration than MobileNet-v2 at the same size
    assert estimate(vgg19, (512, 384), flops=flops).seconds > 10 * estimate(mobile, (512, 384), flops=flops).seconds
    assert estimate(mobile, (512, 384), flops=2 * flops).seconds == pytest.approx(
        estimate(mobile, (512, 384), flops=flops).seconds / 2
    )
    from ml.style.gatys import measure_throughput

    assert measure_throughput(mobilenet, mobile, side=64) > 0
