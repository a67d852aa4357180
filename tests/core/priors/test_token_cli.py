"""``stylize learn-style``, ``stylize image --method inst`` and ``stylize generate --style-token`` on the tiny
model, and their one-line refusals."""

import json
import re

import pytest
import torch

from core.cli import main
from core.io.images import load_image, save_image
from core.priors.inversion import StyleTokens, parse_stages, sample_with_tokens
from core.priors.loading import load_diffusion_model


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model_dir):
    """A painting, a photo and a two-stage token learned from the painting through the command."""
    root = tmp_path_factory.mktemp("token_cli")
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    save_image(torch.stack([torch.sin(6 * x) * 0.5 + 0.5, torch.cos(5 * y) * 0.5 + 0.5, x * y])[None],
               root / "painting.png")
    save_image(torch.stack([x, y, 0.5 * (x + y)])[None], root / "photo.png")
    code = main(["learn-style", str(root / "painting.png"), "-o", str(root / "style.safetensors"), "--model",
                 str(tiny_model_dir), "--per-stage", "2", "--steps", "3", "--size", "32", "--device", "cpu",
                 "--quiet", "--report", str(root / "learn.json")])
    assert code == 0
    return root


def test_learn_style_writes_a_token_file_and_a_report(files):
    tokens = StyleTokens.load(files / "style.safetensors")
    assert tokens.names == ["<style>", "<style>_1"] and tokens.vectors.shape == (2, 32)
    data = json.loads((files / "learn.json").read_text())
    assert data["command"] == "learn-style" and data["timings"]["steps"] == 3
    assert data["metrics"]["stages"] == 2 and len(data["metrics"]["loss_history"]) == 3
    assert data["metrics"]["heldout_loss_final"] > 0 and not list(files.glob(".*.ckpt"))


def test_image_method_inst_matches_the_function(files, tiny_model_dir):
    out = files / "inst.png"
    code = main(["image", str(files / "photo.png"), "-o", str(out), "--method", "inst", "--style-token",
                 str(files / "style.safetensors"), "--model", str(tiny_model_dir), "--stages", "2", "--steps", "4",
                 "--strength", "0.5", "--size", "32", "--device", "cpu", "--quiet"])
    assert code == 0
    model = load_diffusion_model(tiny_model_dir, "cpu")
    expected = sample_with_tokens(model, StyleTokens.load(files / "style.safetensors"), "",
                                  stages=parse_stages("2", 2), image=load_image(files / "photo.png"), strength=0.5,
                                  steps=4, seed=0, progress=False)
    assert (load_image(out) - expected).abs().max() <= 1 / 255 + 1e-6


def test_generate_with_a_style_token_writes_one_image_per_prompt(files, tiny_model_dir):
    code = main(["generate", "--style-token", str(files / "style.safetensors"), "--prompt", "ox", "--prompt", "yak",
                 "--model", str(tiny_model_dir), "-o", str(files / "gen.png"), "--size", "32", "--steps", "3",
                 "--device", "cpu", "--quiet"])
    assert code == 0
    first, second = load_image(files / "gen_1.png"), load_image(files / "gen_2.png")
    assert first.shape == (1, 3, 32, 32) and not torch.equal(first, second)


@pytest.mark.parametrize("extra,expect", [
    (["--method", "inst", "--model", "MODEL"], "needs --model PATH .* and --style-token FILE"),
    (["--method", "inst", "--model", "MODEL", "--style-token", "TOKEN", "--stages", "3"], "within 1-2"),
    (["--method", "inst", "--model", "MODEL", "--style-token", "TOKEN", "STYLE"], "not from a style image"),
    (["--method", "inst", "--model", "MODEL", "--style-token", "TOKEN", "--strength", "0"], "must be in"),
    (["--method", "gatys"], "needs at least one STYLE image"),
])
def test_image_refusals_are_one_line(files, tiny_model_dir, capsys, extra, expect):
    names = {"MODEL": str(tiny_model_dir), "TOKEN": str(files / "style.safetensors"),
             "STYLE": str(files / "painting.png")}
    positional = [names[e] for e in extra if e == "STYLE"]
    options = [names.get(e, e) for e in extra if e != "STYLE"]
    code = main(["image", str(files / "photo.png"), *positional, "-o", str(files / "refused.png"), "--size", "32",
                 "--device", "cpu", "--quiet", *options])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert re.search(expect, err), err
    assert not (files / "refused.png").exists()


def test_learn_style_refusals(files, tiny_model_dir, capsys):
    base = ["learn-style", str(files / "painting.png"), "--model", str(tiny_model_dir), "--device", "cpu", "--quiet"]
    assert main([*base, "-o", str(files / "x.pt")]) == 2
    assert "must end in .safetensors" in capsys.readouterr().err
    assert main([*base, "-o", str(files / "x.safetensors"), "--per-stage", "0"]) == 2
    assert "--per-stage 0" in capsys.readouterr().err
    assert main(["generate", "--prompt", "ox", "--model", str(tiny_model_dir), "-o", str(files / "g.png")]) == 2
    assert "--style-ref IMAGE" in capsys.readouterr().err
