"""The MobileNet-v2 Gatys loss network equals the int8 ONNX file it is rebuilt from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.images import open_image
from ml.style.mobilenet import ONNX_FILE, RELU6_LAYERS, load_mobilenet_v2, same_padding
from ml.weights import package_file

OUTPUT_LSB = 0.01987894  # scale of the style vector's int8 QuantizeLinear in the file
RELU6_LSB = 6 / 255  # scale of every ReLU6 output
TAPS = ("MobilenetV2/Conv/Relu6", "MobilenetV2/expanded_conv_10/expand/Relu6")


@pytest.fixture(scope="module")
def reference(testdata: Path) -> dict[str, np.ndarray]:
    """onnxruntime on the file with graph optimisation DISABLED (the fused int8 kernels differ by CPU)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(str(package_file(*ONNX_FILE)))
    for name in TAPS:  # expose two int8 intermediates as extra outputs
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.INT8, None))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    image = open_image(testdata / "style" / "styles" / "starry_night.jpg").resize((256, 256))
    x = np.asarray(image, dtype=np.float32)[None] / 255.0
    vector, *taps = session.run(None, {"style_image": x})
    out = {"x": x, "vector": vector.reshape(1, -1)}
    for name, tap in zip(TAPS, taps, strict=True):  # NCHW int8, zero point -128
        out[name.split("/", 1)[1].removesuffix("/Relu6")] = (tap.astype(np.float32) + 128) * RELU6_LSB
    return out


def _run(reference: dict[str, np.ndarray], quantize: bool) -> dict[str, np.ndarray]:
    model = load_mobilenet_v2(device="cpu", quantize_activations=quantize)
    x = torch.from_numpy(reference["x"]).permute(0, 3, 1, 2)  # NHWC in the file, NCHW here
    with torch.no_grad():
        out = {k: v.numpy() for k, v in model(x, ["Conv", "expanded_conv_10/expand"]).items()}
        out["vector"] = model.style_vector(x).numpy()
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))


def test_with_activation_rounding_it_matches_onnxruntime_to_one_int8_step(reference):
    ours = _run(reference, quantize=True)
    assert np.abs(ours["vector"] - reference["vector"]).max() <= 1.01 * OUTPUT_LSB
    assert _cosine(ours["vector"], reference["vector"]) > 0.9999
    # The first layer sees identical inputs: equal to one step. Deeper, rounding ties that fall the
    # other way (float summation order) spread, so a few values differ by more than one step.
    assert np.abs(ours["Conv"] - reference["Conv"]).max() <= 1.01 * RELU6_LSB
    deep = np.abs(ours["expanded_conv_10/expand"] - reference["expanded_conv_10/expand"]) / RELU6_LSB
    assert (deep <= 1.01).mean() > 0.9


def test_in_float_as_gatys_runs_it_stays_within_two_int8_steps_of_onnxruntime(reference):
    ours = _run(reference, quantize=False)
    assert np.abs(ours["vector"] - reference["vector"]).max() <= 2 * OUTPUT_LSB
    deep, ref = ours["expanded_conv_10/expand"], reference["expanded_conv_10/expand"]
    assert np.linalg.norm(deep - ref) / np.linalg.norm(ref) < 0.05


def test_gradients_reach_the_input_through_every_style_tap():
    model = load_mobilenet_v2(device="cpu")
    x = torch.rand(1, 3, 67, 50, requires_grad=True)  # odd sizes: SAME padding splits the pad
    features = model(x, ["Conv", "expanded_conv_1/expand", "expanded_conv_3/expand", "expanded_conv_10/expand"])
    assert features["Conv"].shape == (1, 32, 34, 25)
    assert features["expanded_conv_10/expand"].shape == (1, 384, 5, 4)
    sum(f.square().mean() for f in features.values()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_tf_same_padding_pads_bottom_right_only_for_even_sizes():
    assert same_padding(256, 3, 2) == (0, 1)
    assert same_padding(255, 3, 2) == (1, 1)
    assert same_padding(64, 3, 1) == (1, 1)


def test_it_names_the_35_relu6_outputs_and_refuses_others():
    assert len(RELU6_LAYERS) == 35 and RELU6_LAYERS[0] == "Conv" and RELU6_LAYERS[-1] == "Conv_1"
    with pytest.raises(ValueError, match="no layer 'conv4_2'"):
        load_mobilenet_v2(device="cpu")(torch.rand(1, 3, 32, 32), ["conv4_2"])
