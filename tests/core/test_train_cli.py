"""``stylize train-decoder`` end to end at toy size: outputs, report, resume, one-line errors."""

import json

import pytest
import torch
from PIL import Image

from core.cli import main
from core.image.feedforward import load_decoder
from tests.conftest import write_png


@pytest.fixture
def folders(tmp_path):
    for name, seed in (("content", 1), ("styles", 2)):
        (tmp_path / name).mkdir()
        write_png(tmp_path / name / "a.png", seed=seed)
    return tmp_path / "content", tmp_path / "styles"


TOY = ["--batch", "1", "--crop", "32", "--max-side", "64", "--log-every", "1", "--quiet"]


def test_train_writes_decoder_log_curve_report_and_resumes(tmp_path, folders):
    content, styles = folders
    out = tmp_path / "run" / "dec.safetensors"
    args = ["train-decoder", "--content", str(content), "--styles", str(styles), "-o", str(out), *TOY]
    assert main([*args, "--iters", "2", "--report", str(tmp_path / "r.json")]) == 0
    decoder = load_decoder(out)
    assert decoder(torch.rand(1, 512, 2, 2)).shape == (1, 3, 16, 16)
    log = json.loads((tmp_path / "run" / "dec.losses.json").read_text())
    assert [e["iteration"] for e in log] == [1, 2] and {"content", "style", "identity", "total"} <= set(log[0])
    assert Image.open(tmp_path / "run" / "dec.losses.png").size == (800, 480)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["metrics"]["iterations"] == 2 and report["timings"]["steps"] == 2
    assert (tmp_path / "run" / ".dec.safetensors.ckpt").exists()
    assert main([*args, "--iters", "3", "--resume"]) == 0
    log = json.loads((tmp_path / "run" / "dec.losses.json").read_text())
    assert [e["iteration"] for e in log] == [1, 2, 3]


@pytest.mark.parametrize("case,expect", [
    ("empty", "holds no images"), ("suffix", "must end in .safetensors"), ("crop", "multiple of 8"),
    ("resume", "no checkpoint"), ("weights", "nothing to train"), ("init", "not found"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, folders, capsys, case, expect):
    content, styles = folders
    out, extra = tmp_path / "d.safetensors", []
    if case == "empty":
        (tmp_path / "empty").mkdir()
        content = tmp_path / "empty"
    elif case == "suffix":
        out = tmp_path / "d.pt"
    elif case == "crop":
        extra = ["--crop", "30"]
    elif case == "resume":
        extra = ["--resume"]
    elif case == "weights":
        extra = ["--content-weight", "0", "--style-weight", "0", "--identity-weight", "0"]
    elif case == "init":
        extra = ["--init", str(tmp_path / "missing.safetensors")]
    code = main(["train-decoder", "--content", str(content), "--styles", str(styles), "-o", str(out), *TOY,
                 "--iters", "1", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err and expect in err, err
    assert not out.exists()
