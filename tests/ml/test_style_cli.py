"""``python -m ml.style``: every subcommand has help; runs write files; failures exit 2 with a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ml.style.cli import _style_spec, main


@pytest.mark.parametrize("command", ["preset", "presets", "arbitrary", "gatys", "fast", "train"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_style_spec_accepts_ids_slugs_and_blends():
    assert _style_spec("3") == {3: 1.0}
    assert _style_spec("3:0.7,12:0.3") == {3: 0.7, 12: 0.3}
    assert _style_spec("starry-blue") == {19: 1.0}


def test_preset_and_arbitrary_write_images(testdata: Path, tmp_path):
    photo = testdata / "style" / "content" / "sailboat.jpg"
    assert main(["preset", str(photo), "--style", "3:0.5,19:0.5", "--size", "128", "-o", str(tmp_path / "p.png")]) == 0
    assert max(Image.open(tmp_path / "p.png").size) == 128
    style = testdata / "style" / "styles" / "wave.jpg"
    out = tmp_path / "a.png"
    assert main(["arbitrary", str(photo), "--style-image", str(style), "--size", "96", "-o", str(out)]) == 0
    assert max(Image.open(out).size) == 96


def test_gatys_on_vgg19_without_weights_exits_2_naming_the_file(testdata: Path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    photo = testdata / "style" / "content" / "sailboat.jpg"
    out = str(tmp_path / "g.png")
    code = main(["gatys", str(photo), "--style-image", str(photo), "--network", "vgg19", "--size", "64", "-o", out])
    assert code == 2 and "vgg19-dcbabe56.pth" in capsys.readouterr().err


def test_gatys_draft_runs_offline_on_mobilenet_without_any_weights_directory(
    testdata: Path, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    photo = testdata / "style" / "content" / "sailboat.jpg"
    style = testdata / "style" / "styles" / "starry_night.jpg"
    out = tmp_path / "g.png"
    argv = ["gatys", str(photo), "--style-image", str(style), "--quality", "draft", "--size", "64", "--iterations", "3"]
    assert main([*argv, "-o", str(out)]) == 0
    assert max(Image.open(out).size) == 64
    assert not (tmp_path / "w").exists()


def test_gatys_names_the_networks_layers_when_one_is_unknown(testdata: Path, tmp_path, capsys):
    photo = testdata / "style" / "content" / "sailboat.jpg"
    argv = [
        "gatys",
        str(photo),
        "--style-image",
        str(photo),
        "--style-layers",
        "conv1_1",
        "-o",
        str(tmp_path / "g.png"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "mobilenet-v2 has no layer(s) conv1_1" in err and "expanded_conv_10/expand" in err


def test_a_non_image_input_exits_2(tmp_path, capsys):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert main(["preset", str(junk), "--style", "1", "-o", str(tmp_path / "o.png")]) == 2
    assert "not a readable image" in capsys.readouterr().err
