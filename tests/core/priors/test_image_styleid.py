"""``stylize image --method styleid`` end to end on the tiny model, and its refusals."""

import json

import pytest

from core.cli import main
from core.io.images import load_image, save_image
from core.priors.style_injection import stylize_styleid


@pytest.fixture
def pair(tmp_path, images):
    content, style = tmp_path / "content.png", tmp_path / "style.png"
    save_image(images[0], content)
    save_image(images[1], style)
    return content, style


def test_styleid_through_image_command_matches_the_function(tiny_model_dir, tiny_model, pair, tmp_path):
    content, style = pair
    out, report = tmp_path / "o.png", tmp_path / "r.json"
    code = main(["image", str(content), str(style), "-o", str(out), "--method", "styleid", "--model",
                 str(tiny_model_dir), "--size", "32", "--steps", "3", "--gamma", "0.5", "--quiet",
                 "--device", "cpu", "--report", str(report)])
    assert code == 0
    expected = stylize_styleid(load_image(content, long_side=32), load_image(style, long_side=32), tiny_model,
                               gamma=0.5, steps=3, seed=0, progress=False)
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6
    data = json.loads(report.read_text())
    assert data["timings"]["steps"] == 3 and data["args"]["method"] == "styleid"


@pytest.mark.parametrize("extra,expect", [
    ([], "needs --model"),
    (["--model", "MODEL", "--blend", "1"], "does not support --blend"),
    (["--model", "MODEL", "--mask", "m.png"], "does not support --mask"),
])
def test_styleid_refusals_are_one_line(tiny_model_dir, pair, tmp_path, capsys, extra, expect):
    content, style = pair
    extra = [str(tiny_model_dir) if e == "MODEL" else e for e in extra]
    code = main(["image", str(content), str(style), "-o", str(tmp_path / "o.png"), "--method", "styleid",
                 "--size", "32", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and expect in err
    assert not (tmp_path / "o.png").exists()
