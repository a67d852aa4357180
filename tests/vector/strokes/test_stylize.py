"""Strokes optimised toward a style picture on core's stylization driver: the loss falls, bounds hold."""

import json
import xml.etree.ElementTree as ET

import pytest
import torch

from core.cli import main
from core.errors import ConfigError
from core.losses.objective import StyleLossConfig, StyleObjective
from core.stylization import LoopConfig, StylizationTask, stylize
from tests.conftest import write_png
from vector.strokes.hertzmann import paint
from vector.strokes.presets import PRESETS
from vector.strokes.render import composite
from vector.strokes.stylize import StrokeStyleConfig, StrokeStyleTask, stylize_strokes


def _photo():
    g = torch.Generator().manual_seed(1)
    return torch.nn.functional.interpolate(torch.rand(1, 3, 4, 6, generator=g), size=(32, 48), mode="bicubic").clamp(0, 1)


def test_style_loss_falls_and_bounds_keep_strokes_strokes():
    photo = _photo()
    painting = paint(photo, PRESETS["impressionist"].replace(brushes=(6, 3)))
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    objective = StyleObjective(StyleLossConfig(style_weight=10.0)).set_style([style], long_side=48)
    config = StrokeStyleConfig(width_range=(0.8, 1.25), max_step=1.2)
    task = StrokeStyleTask(painting.strokes, photo, config)
    assert isinstance(task, StylizationTask)
    result = stylize(task, objective, LoopConfig(steps=8, lr=0.05), progress=False)
    assert result.final["style"] < result.initial["style"]
    s = task.strokes().detach()
    r0 = painting.strokes.radius
    assert torch.all(s.radius >= 0.8 * r0 - 1e-5) and torch.all(s.radius <= 1.25 * r0 + 1e-5)
    steps = (s.points[:, 1:] - s.points[:, :-1]).norm(dim=-1)
    assert torch.all(steps <= 1.2 * r0[:, None] + 1e-4)
    assert s.colour.min() >= 0 and s.colour.max() <= 1 and s.opacity.min() >= config.min_opacity
    assert not torch.equal(s.points, painting.strokes.points)
    assert torch.equal(s.count, painting.strokes.count)


def test_paint_with_style_writes_strokes_and_reports(tmp_path):
    photo = write_png(tmp_path / "photo.png", height=32, width=48)
    style = write_png(tmp_path / "style.png", height=48, width=48, seed=5)
    out, report = tmp_path / "p.svg", tmp_path / "r.json"
    code = main(["paint", str(photo), "-o", str(out), "--size", "48", "--brushes", "6,3", "--style", str(style),
                 "--steps", "3", "--budget", "20", "--quiet", "--report", str(report)])
    assert code == 0
    r = json.loads(report.read_text())
    paths = ET.parse(out).getroot().findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) == r["sizes"]["strokes"] == 20
    assert r["timings"]["steps"] == 3 and r["metrics"]["svg_vs_canvas_psnr_db"] >= 30
    assert set(r["metrics"]["stylize_final"]) >= {"style", "content", "total"}


def test_stylize_strokes_lowers_the_style_loss_within_the_budget_and_renders_the_result():
    photo = _photo()
    painting = paint(photo, PRESETS["impressionist"].replace(brushes=(6, 3)))
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    result = stylize_strokes(painting, photo, style, steps=6, lr=0.05, budget=15, style_weight=10.0, max_step=1.2)
    assert result.stylization.final["style"] < result.stylization.initial["style"] and not result.interrupted
    assert len(result.painting.strokes) == 15 < len(painting.strokes)
    assert result.painting.canvas.shape == (3, 32, 48) and result.painting.radii == painting.radii
    assert not torch.equal(result.painting.canvas, painting.canvas)
    assert torch.equal(result.painting.canvas, composite(result.painting.strokes, 32, 48, torch.ones(3, 32, 48)))


def test_stylize_strokes_refuses_unknown_settings():
    photo = _photo()
    painting = paint(photo, PRESETS["impressionist"].replace(brushes=(6,)))
    with pytest.raises(TypeError, match="no field"):
        stylize_strokes(painting, photo, photo, steps=1, brush_size=3)
    with pytest.raises(ConfigError, match="budget"):
        stylize_strokes(painting, photo, photo, steps=1, budget=-1)
