"""``stylize generate`` end to end on the tiny model, and its one-line errors (exit code 2)."""

import json

import pytest
import torch

from core.cli import main
from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.cli import parse_layers


@pytest.fixture
def style_png(tmp_path, images):
    path = tmp_path / "style.png"
    save_image(torch.nn.functional.interpolate(images[1], size=(36, 40), mode="bilinear"), path)
    return path


def generate(style_png, model, output, *extra):
    return main(["generate", "--style-ref", str(style_png), "--prompt", "a cat", "--prompt", "a house",
                 "--model", str(model), "-o", str(output), "--size", "32", "--steps", "3", "--device", "cpu",
                 "--quiet", *extra])


def test_generate_writes_one_image_per_prompt_and_a_report(tiny_model_dir, style_png, tmp_path):
    report = tmp_path / "report.json"
    assert generate(style_png, tiny_model_dir, tmp_path / "out" / "gen.png", "--report", str(report)) == 0
    outputs = [tmp_path / "out" / "gen_1.png", tmp_path / "out" / "gen_2.png"]
    # style loaded at long side 32 → 32×29, rounded down to multiples of 4 → 28 rows × 32 columns
    assert [tuple(load_image(p).shape) for p in outputs] == [(1, 3, 28, 32)] * 2
    assert not torch.equal(load_image(outputs[0]), load_image(outputs[1]))
    data = json.loads(report.read_text())
    assert data["command"] == "generate" and data["outputs"] == [str(p) for p in outputs]
    assert data["timings"]["steps"] == 3 and data["sizes"]["images"] == 2


@pytest.mark.parametrize("sub", ["unet", "tokenizer"])
def test_incomplete_model_folder_is_one_line_exit_2(tiny_model_dir, style_png, tmp_path, capsys, sub):
    model = tmp_path / "model"
    model.mkdir()
    for part in tiny_model_dir.iterdir():
        if part.name != sub:
            (model / part.name).symlink_to(part)
    assert generate(style_png, model, tmp_path / "gen.png") == 2
    err = capsys.readouterr().err.strip()
    assert f"no '{sub}/' subfolder" in err and "\n" not in err
    assert not list(tmp_path.glob("gen*"))


def test_missing_model_and_bad_options_exit_2(tiny_model_dir, style_png, tmp_path, capsys):
    assert generate(style_png, tmp_path / "absent", tmp_path / "gen.png") == 2
    assert "does not exist" in capsys.readouterr().err
    assert generate(style_png, tiny_model_dir, tmp_path / "gen.png", "--layers", "0,99") == 2
    assert "unknown attention layer 99" in capsys.readouterr().err
    assert generate(style_png, tiny_model_dir, tmp_path / "gen.txt") == 2
    assert "must end in" in capsys.readouterr().err


def test_parse_layers():
    assert parse_layers(None) is None and parse_layers("") is None
    assert parse_layers("4, 5,-1") == [4, 5, -1]
    with pytest.raises(InputError, match="comma-separated integers"):
        parse_layers("a,b")
