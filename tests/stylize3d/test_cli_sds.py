"""``stylize scene --prompt --model``: the SDS term on a tiny random diffusion model (built by core's test helper)."""

import importlib.util
import json
from pathlib import Path

import pytest

from core.cli import main
from stylize3d.splats.ply import write_ply

HELPER = Path(__file__).resolve().parents[1] / "core" / "priors" / "conftest.py"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("diffusers", reason="diffusers is not installed")
    if not HELPER.exists():
        pytest.skip("core's tiny diffusion model helper is not present")
    spec = importlib.util.spec_from_file_location("tiny_sd_helper", HELPER)
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    root = tmp_path_factory.mktemp("tiny_sd")
    helper.build_tiny_model(root)
    return root


def test_sds_term_joins_the_objective(tiny_model, make_scene, style_png, tmp_path):
    scene = make_scene(n=100, degree=0, seed=2, spread=0.6)
    write_ply(scene, tmp_path / "s.ply")
    report = tmp_path / "r.json"
    code = main(["scene", str(tmp_path / "s.ply"), str(style_png), "-o", str(tmp_path / "out"), "--orbit", "2",
                 "--steps", "1", "--size", "32", "--video-frames", "0", "--quiet", "--prompt", "a fox",
                 "--model", str(tiny_model), "--sds-resolution", "32", "--report", str(report)])
    assert code == 0
    final = json.loads(report.read_text())["metrics"]["final"]
    assert final["sds"] > 0 and final["total"] > final["sds"]


def test_prompt_without_model_is_refused(make_scene, style_png, tmp_path, capsys):
    write_ply(make_scene(n=10), tmp_path / "s.ply")
    code = main(["scene", str(tmp_path / "s.ply"), str(style_png), "-o", str(tmp_path / "out"), "--prompt", "a fox"])
    assert code == 2 and "--prompt and --model go together" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
