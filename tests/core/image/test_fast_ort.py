"""The fast path on ONNX Runtime (``core.image.fast_ort``): the hand-built gradient graph against torch autograd, the
numpy L-BFGS on known quadratics, engine parity, the graph cache and the torch-free command."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.config import replace_fields
from core.image import fast_cli
from core.image.fast import stylize_fast
from core.image.fast_config import FAST_STYLE_LAYERS, FastConfig
from core.image.lbfgs_numpy import lbfgs_steps
from core.losses.config import CONTENT_LAYER
from core.losses.objective import StyleObjective
from core.nn import onnx_cache
from core.nn.vgg import load_vgg19

pytest.importorskip("onnxruntime")
from core.image.fast_ort import FastGraphSessions, stylize_fast_array  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def sessions():
    return FastGraphSessions(FastConfig(), threads=1)


def _nchw(array):
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)[None]))


def _stripes(height=64, width=64):
    """Saturated red/blue/yellow diagonal stripes, ``H,W,3`` float32."""
    yy, xx = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    palette = np.array([[0.9, 0.1, 0.1], [0.1, 0.2, 0.9], [0.95, 0.85, 0.1]], np.float32)
    return palette[((xx + yy) // 4) % 3]


def test_loss_and_gradient_match_torch_autograd(sessions):
    rng = np.random.default_rng(0)
    x, content, style = (rng.random(shape, dtype=np.float32) for shape in ((24, 40, 3), (24, 40, 3), (32, 24, 3)))
    config = replace_fields(FastConfig, style_weight=3.0, content_weight=0.5)
    loss, grad, terms = sessions.objective(style, content, config, (1, 3, 24, 40))(
        x.transpose(2, 0, 1)[None].astype(np.float64))
    encoder = load_vgg19("cpu", autocast_cpu_bf16=False)
    objective = StyleObjective(config.loss_config(), "cpu", encoder).set_style([_nchw(style)], 32)  # as is
    image = _nchw(x).requires_grad_(True)
    expected_terms = objective.terms(image, _nchw(content), key="content")
    total = objective.weighted_total(expected_terms)
    total.backward()
    assert loss == pytest.approx(float(total.detach()), rel=1e-5)
    assert terms["style"] == pytest.approx(float(expected_terms["style"].detach()), rel=1e-5)
    assert terms["content"] == pytest.approx(float(expected_terms["content"].detach()), rel=1e-5)
    reference = image.grad.numpy().astype(np.float64)
    assert np.abs(grad - reference).max() <= 1e-4 * np.abs(reference).max()


def test_lbfgs_reaches_the_minimum_of_an_isotropic_quadratic_in_two_steps():
    """f = c/2 ‖x − m‖²: the first step moves the farthest coordinate by exactly first_step; the curvature pair it
    leaves gives H = 1/c, so the second step lands on m (inside the bounds)."""
    target, c = np.array([0.2, 0.7, 0.5, 0.9]), 3.0
    calls = []

    def f(x):
        calls.append(x.copy())
        return 0.5 * c * float(((x - target) ** 2).sum()), c * (x - target), {}

    x0 = np.array([0.5, 0.5, 0.5, 0.5])
    result = lbfgs_steps(f, x0, steps=2, first_step=0.05)
    assert len(calls) == 2 and np.abs(calls[1] - x0).max() == pytest.approx(0.05)
    np.testing.assert_allclose(result.x, target, atol=1e-12)


def test_lbfgs_keeps_bounds_and_stops_cleanly_on_ctrl_c():
    def f(x):
        if len(seen) == 2:
            raise KeyboardInterrupt
        seen.append(x.copy())
        return float(-x.sum()), -np.ones_like(x), {"style": 0.0}

    seen = []
    result = lbfgs_steps(f, np.full(3, 0.95), steps=5, first_step=0.5)
    assert result.stopped == "interrupted" and len(result.history) == 2
    assert result.x.max() <= 1.0 and np.array_equal(result.x, np.ones(3))


def test_engines_agree_where_no_resampling_happens(sessions):
    rng = np.random.default_rng(1)
    content = np.clip(0.5 + 0.1 * rng.standard_normal((48, 64, 3)), 0, 1).astype(np.float32)
    style = _stripes()
    config = replace_fields(FastConfig, work_size=64, steps=3)
    ours = stylize_fast_array(content, style, config, sessions)
    theirs = stylize_fast(_nchw(content), _nchw(style), config)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours.image - theirs).max() < 1e-4
    losses = [h["total"] for h in ours.steps.history]
    assert losses[2] < losses[1] < losses[0]  # every step lowers the loss


def test_engines_agree_to_resampling_differences_at_a_smaller_working_size(sessions):
    rng = np.random.default_rng(2)
    content = np.clip(0.5 + 0.1 * rng.standard_normal((48, 64, 3)), 0, 1).astype(np.float32)
    style = _stripes()
    config = replace_fields(FastConfig, work_size=32, steps=3)
    ours = stylize_fast_array(content, style, config, sessions).image
    theirs = stylize_fast(_nchw(content), _nchw(style), config)[0].permute(1, 2, 0).numpy()
    assert ours.shape == content.shape
    assert np.abs(ours - theirs).mean() < 0.06  # PIL vs torch bicubic; 0.015-0.03 measured
    assert np.abs(ours - content).mean() > 0.1  # and both moved far from the photo


def test_the_cache_key_follows_the_onnxruntime_version(monkeypatch):
    before = onnx_cache.fast_graph_paths(FAST_STYLE_LAYERS, CONTENT_LAYER)
    monkeypatch.setattr(onnx_cache, "onnxruntime_version", lambda: "0.0-other")
    after = onnx_cache.fast_graph_paths(FAST_STYLE_LAYERS, CONTENT_LAYER)
    assert after.targets != before.targets and after.targets.parent == before.targets.parent
    assert not after.exist()


def test_auto_picks_onnx_on_a_cpu_machine_and_torch_where_it_must(monkeypatch):
    monkeypatch.setattr(fast_cli, "nvidia_gpu_present", lambda: False)
    assert fast_cli.choose_engine("auto", "auto", FastConfig()) == "onnx"
    assert fast_cli.choose_engine("auto", "cuda", FastConfig()) == "torch"
    assert fast_cli.choose_engine("auto", "cpu", replace_fields(FastConfig, preserve_color=True)) == "torch"
    monkeypatch.setattr(fast_cli, "nvidia_gpu_present", lambda: True)
    assert fast_cli.choose_engine("auto", "auto", FastConfig()) == "torch"
    assert fast_cli.choose_engine("auto", "cpu", FastConfig()) == "onnx"


def test_engine_onnx_refuses_what_it_cannot_do(tmp_path, content_png, style_png, capsys):
    out = tmp_path / "o.png"
    code = main(["image", str(content_png), str(style_png), "-o", str(out), "--method", "fast", "--engine", "onnx",
                 "--preserve-color"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "does not do --preserve-color" in err and not out.exists()


PROBE = """
import json, sys
from core.cli import main
code = main({argv!r})
print(json.dumps({{"code": code, "torch": "torch" in sys.modules}}))
"""


def test_the_onnx_command_runs_without_importing_torch(tmp_path, content_png, style_png, sessions):
    out, report = tmp_path / "fast.png", tmp_path / "r.json"
    argv = ["image", str(content_png), str(style_png), "-o", str(out), "--method", "fast", "--engine", "onnx",
            "--size", "48", "--quiet", "--report", str(report)]
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "torch": False}
    assert Image.open(out).size == (48, 34)
    data = json.loads(report.read_text())
    assert data["metrics"]["engine"] == "onnx" and data["metrics"]["graphs_built"] is False
    assert data["device"]["type"] == "cpu" and len(data["metrics"]["loss_history"]) == 3


def test_two_threaded_runs_are_bit_identical():
    rng = np.random.default_rng(4)
    content = np.clip(0.5 + 0.1 * rng.standard_normal((40, 56, 3)), 0, 1).astype(np.float32)
    sessions = FastGraphSessions(FastConfig(), threads=2)
    config = replace_fields(FastConfig, work_size=32, steps=2)
    first = stylize_fast_array(content, _stripes(), config, sessions).image
    assert np.array_equal(first, stylize_fast_array(content, _stripes(), config, sessions).image)
