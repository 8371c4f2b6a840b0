"""``python -m ml.faces``: every subcommand has help; detect/verify/cluster/evaluate/calibrate run."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ml.faces.cli import main

COMMANDS = ("detect", "embed", "verify", "cluster", "evaluate", "calibrate")
FAST = ["--max-side", "640", "--min-face-size", "40"]  # portraits: a small pyramid is enough and 3× quicker


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m ml.faces " + command in capsys.readouterr().out


@pytest.fixture(scope="module")
def small_folder(testdata: Path, tmp_path_factory) -> Path:
    """Four people × three photos, linked from the shared test data."""
    root = tmp_path_factory.mktemp("people")
    for person in ("barack_obama", "jackie_chan", "nicole_kidman", "yao_ming"):
        (root / person).mkdir()
        for photo in sorted((testdata / "faces" / person).iterdir())[:3]:
            (root / person / photo.name).symlink_to(photo)
    return root


def test_detect_prints_faces_and_draws_an_overlay(testdata, tmp_path, capsys):
    overlay = tmp_path / "overlay.png"
    assert main(["detect", str(testdata / "faces_group" / "CompreFace__013_4.jpg"), "--overlay", str(overlay)]) == 0
    out = capsys.readouterr().out
    assert "4 face(s)" in out and out.count("score") == 4
    drawn = Image.open(overlay)
    assert drawn.size == (800, 533)


def test_detect_reports_a_bad_file_as_an_error(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    assert main(["detect", str(bad)]) == 2
    assert "not a readable image" in capsys.readouterr().err


def test_verify_says_same_person_for_two_photos_of_one_person(small_folder, capsys):
    first, second = sorted((small_folder / "yao_ming").iterdir())[:2]
    assert main(["verify", str(first), str(second), *FAST]) == 0
    assert capsys.readouterr().out.startswith("same person")
    other = sorted((small_folder / "nicole_kidman").iterdir())[0]
    assert main(["verify", str(first), str(other), *FAST]) == 0
    assert capsys.readouterr().out.startswith("different people")


def test_embed_saves_an_array(small_folder, tmp_path, capsys):
    import numpy as np

    photo = sorted((small_folder / "jackie_chan").iterdir())[0]
    out = tmp_path / "e.npy"
    assert main(["embed", str(photo), "--out", str(out), *FAST]) == 0
    array = np.load(out)
    assert array.shape[1] == 512 and array.shape[0] >= 1  # the default embedder: FaceNet


def test_cluster_groups_a_folder(small_folder, capsys):
    assert main(["cluster", str(small_folder), "--min-faces", "2", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.count("cluster ") >= 4


def test_evaluate_prints_a_table_starting_with_accuracy(small_folder, tmp_path, capsys):
    roc = tmp_path / "roc.png"
    assert main(["evaluate", str(small_folder), "--folds", "3", "--roc", str(roc), *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "accuracy" in lines[0]
    assert Image.open(roc).format == "PNG"


def test_calibrate_prints_a_threshold(small_folder, capsys):
    assert main(["calibrate", str(small_folder), "--target-far", "0.01", *FAST]) == 0
    assert capsys.readouterr().out.startswith("threshold ")
