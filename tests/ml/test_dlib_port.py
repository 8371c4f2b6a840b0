"""The PyTorch port of dlib's face-recognition ResNet reproduces dlib itself.

dlib (``dlib-bin``) is a test-only dependency: it makes the aligned chips (frontal detector, 5-point shape
predictor, ``get_face_chip``) and provides the reference descriptors.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from ml.faces.dlib_resnet import (
    CHIP_SIZE,
    DLIB_MEAN_RGB,
    DlibFormatError,
    DlibResNet,
    _decode_float_details_array,
    _Reader,
    chips_to_tensor,
    default_model_path,
    load_dlib_resnet,
    parse_dlib_net,
)

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-3  # max abs difference allowed per descriptor component (observed: ~1e-6)
PEOPLE = [
    "angelina_jolie",
    "barack_obama",
    "colin_powell",
    "george_clooney",
    "halle_berry",
    "jackie_chan",
    "matt_damon",
    "serena_williams",
]


@pytest.fixture(scope="module")
def net() -> DlibResNet:
    return load_dlib_resnet()


@pytest.fixture(scope="module")
def dlib() -> Any:
    """dlib itself, for the tests that compare with it (the file-format tests below run without it)."""
    return pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def facerec(dlib: Any) -> Any:
    return dlib.face_recognition_model_v1(str(default_model_path()))


@pytest.fixture(scope="module")
def chips(testdata: Path, dlib: Any) -> list[tuple[str, np.ndarray]]:
    """(person, 150x150x3 uint8 RGB chip) for the largest face in up to two photos of each person in PEOPLE."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(default_model_path().with_name("shape_predictor_5_face_landmarks.dat")))
    out = []
    for person in PEOPLE:
        for path in sorted((testdata / "faces" / person).glob("*"))[:2]:
            img = Image.open(path).convert("RGB")
            img.thumbnail((800, 800))  # keeps detection fast on the full-size press photos
            rgb = np.asarray(img)
            faces = detector(rgb, 1)
            if not faces:
                continue
            face = max(faces, key=lambda r: r.area())
            out.append((person, dlib.get_face_chip(rgb, predictor(rgb, face), size=CHIP_SIZE, padding=0.25)))
    if len(out) < 6:
        pytest.skip(f"only {len(out)} faces found in the test data")
    return out


def test_chips_are_what_dlib_expects(chips: list[tuple[str, np.ndarray]]) -> None:
    for _, chip in chips:
        assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3) and chip.dtype == np.uint8


def test_matches_dlib_on_real_chips(net: DlibResNet, facerec: Any, chips: list[tuple[str, np.ndarray]]) -> None:
    expected = np.array([np.array(facerec.compute_face_descriptor(chip)) for _, chip in chips])
    with torch.inference_mode():
        got = net(chips_to_tensor([chip for _, chip in chips])).numpy()
    assert got.shape == expected.shape == (len(chips), 128)
    diff = np.abs(got - expected).max()
    print(f"\nmax abs difference vs dlib over {len(chips)} chips of {len({p for p, _ in chips})} people: {diff:.2e}")
    assert diff < TOLERANCE
    # Not normalised, exactly like dlib (whose norms are around 1, not exactly 1).
    assert not np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    # The port keeps dlib's same/different-person geometry: pairwise distances agree too.
    d_got = np.linalg.norm(got[:, None] - got[None], axis=-1)
    d_exp = np.linalg.norm(expected[:, None] - expected[None], axis=-1)
    assert np.abs(d_got - d_exp).max() < TOLERANCE


def test_matches_dlib_on_extreme_inputs(net: DlibResNet, facerec: Any) -> None:
    """Saturated and random chips exercise the negative-value paths (max-pool, zero-padded adds)."""
    rng = np.random.default_rng(1)
    chips = [
        np.zeros((CHIP_SIZE, CHIP_SIZE, 3), np.uint8),
        np.full((CHIP_SIZE, CHIP_SIZE, 3), 255, np.uint8),
        rng.integers(0, 256, (CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8),
    ]
    expected = np.array([np.array(facerec.compute_face_descriptor(c)) for c in chips])
    with torch.inference_mode():
        got = net(chips_to_tensor(chips)).numpy()
    assert np.abs(got - expected).max() < TOLERANCE


def test_batch_shape_and_batched_equals_single(net: DlibResNet, chips: list[tuple[str, np.ndarray]]) -> None:
    arrays = [chip for _, chip in chips][:8]
    batch = chips_to_tensor((arrays * 3)[:16])  # 6 to 8 distinct chips, repeated
    assert batch.shape == (16, 3, CHIP_SIZE, CHIP_SIZE) and batch.dtype == torch.float32
    assert batch.min() >= 0 and batch.max() <= 255
    with torch.inference_mode():
        out = net(batch)
        singles = torch.cat([net(batch[i : i + 1]) for i in range(4)])
    assert out.shape == (16, 128) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:4], singles, atol=1e-5, rtol=0)
    # Repeated chips in the batch give the same descriptor wherever they sit.
    torch.testing.assert_close(out[0], out[len(arrays)], atol=1e-5, rtol=0)


def test_input_forms_agree(net: DlibResNet, chips: list[tuple[str, np.ndarray]]) -> None:
    chip = chips[0][1]
    from_np = chips_to_tensor([chip])
    from_pil = chips_to_tensor([Image.fromarray(chip)])
    torch.testing.assert_close(from_np, from_pil, atol=0, rtol=0)
    torch.testing.assert_close(from_np[0, :, 3, 5], torch.tensor(chip[3, 5], dtype=torch.float32))
    with torch.inference_mode():
        as_uint8 = net(from_np.to(torch.uint8))
    torch.testing.assert_close(net.embed([chip]), as_uint8.numpy())
    with pytest.raises(ValueError):
        chips_to_tensor([chip[:100]])


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


def test_module_imports_neither_django_nor_dlib() -> None:
    code = "import sys, ml.faces.dlib_resnet; sys.exit(bool({'django', 'dlib'} & set(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
