"""The stylization driver: keep-best vs keep-last, terms, initial/final, resume, and every front end on it."""

import pytest
import torch

from core.config import replace_fields
from core.image.gatys import GatysConfig, ImageTask, stylize_gatys
from core.losses.objective import StyleLossConfig, StyleObjective
from core.nn.vgg import load_vgg19
from core.optimize import Checkpoint
from core.stylization import LoopConfig, StylizationTask, TaskDefaults, evaluate, stylize


@pytest.fixture(scope="module")
def encoder():
    return load_vgg19("cpu", autocast_cpu_bf16=False)


@pytest.fixture
def make_scene_and_cameras():
    """300 opaque-ish random Gaussians seen by three cameras on an orbit, 32 px."""
    from stylize3d.camera_paths import orbit
    from tests.stylize3d.conftest import random_scene

    scene = random_scene(n=300, degree=1, seed=8, spread=0.5)
    scene.opacity_logits.fill_(2.0)
    return scene, orbit(torch.zeros(3), 2.5, 20.0, 3, width=32, height=32)


@pytest.fixture
def svg_scene():
    from vector.svg import parse_svg

    return parse_svg('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect x="4" y="4" width="20" '
                     'height="14" fill="#c33"/><circle cx="20" cy="20" r="8" fill="#36c" stroke="#000"/></svg>')


def _images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)


class NoisyViews(TaskDefaults):
    """A stochastic task: the view is a random brightness the image is rendered at."""

    stochastic = True

    def __init__(self, start):
        self.x = start.clone().requires_grad_(True)
        self.views = []

    def params(self):
        return [self.x]

    def sample_view(self, generator):
        view = float(torch.rand(1, generator=generator))
        self.views.append(view)
        return view

    def render(self, view):
        return (self.x * (0.5 + 0.5 * view)).clamp(0, 1)


def test_terms_are_added_and_reported(encoder):
    content, style = _images()
    objective = StyleObjective(StyleLossConfig(), encoder=encoder).set_style([style], 32)
    task = ImageTask(content, content, tv_weight=2.0)
    seen = []

    def term(image, view):
        seen.append(view)
        return {"bright": 3.0 * image.mean()}

    with torch.no_grad():
        values = evaluate(task, objective, None, [term])
    base = objective.terms(content, content)
    assert float(values["bright"]) == pytest.approx(3.0 * float(content.mean()))
    expected = float(objective.weighted_total(base)) + float(values["tv"]) + float(values["bright"])
    assert float(values["total"]) == pytest.approx(expected, rel=1e-6) and seen == [None]


def test_deterministic_task_keeps_the_best_and_stochastic_the_last(encoder):
    content, style = _images()
    objective = StyleObjective(StyleLossConfig(content_weight=0.0), encoder=encoder).set_style([style], 32)
    task = ImageTask(content, content)
    result = stylize(task, objective, LoopConfig(steps=6, optimizer="adam", lr=0.05), progress=False)
    assert result.final["total"] <= min(h["total"] for h in result.optimization.history) + 1e-6
    assert result.final["style"] < result.initial["style"] and not result.interrupted

    noisy = NoisyViews(content)
    result = stylize(noisy, objective, LoopConfig(steps=4, optimizer="adam", lr=0.05), progress=False, seed=3)
    assert result.optimization.kept_loss == pytest.approx(result.optimization.history[-1]["total"])
    # the evaluation view is the first draw of the seed; the loop draws the same sequence from its own generator
    assert noisy.views[0] == noisy.views[1] and len(noisy.views) == 1 + 4  # final reuses the evaluation view


def test_resume_after_interrupt_draws_the_same_views(encoder, tmp_path):
    content, style = _images()
    objective = StyleObjective(StyleLossConfig(), encoder=encoder).set_style([style], 32)
    loop = LoopConfig(steps=4, optimizer="adam", lr=0.05)
    straight = NoisyViews(content)
    stylize(straight, objective, loop, progress=False, seed=1)
    calls = {"n": 0}

    def stop_at_step_three(image, view):
        calls["n"] += 1
        if calls["n"] == 4:  # call 1: initial evaluation; calls 2-3: steps 1-2
            raise KeyboardInterrupt
        return {}

    checkpoint = Checkpoint(tmp_path / "c.pt", every=1, meta={"t": 1})
    stopped = NoisyViews(content)
    first = stylize(stopped, objective, loop, [stop_at_step_three], checkpoint=checkpoint, progress=False, seed=1)
    assert first.interrupted and first.optimization.steps_done == 2
    resumed = NoisyViews(content)
    stylize(resumed, objective, loop, checkpoint=checkpoint, resume=True, progress=False, seed=1)
    assert torch.allclose(resumed.x, straight.x, atol=1e-6)
    assert resumed.views[1:3] == straight.views[3:5]  # steps 3 and 4 see the views the straight run saw


def test_every_front_end_task_follows_the_protocol(make_scene_and_cameras, svg_scene):
    content, _ = _images()
    assert isinstance(ImageTask(content, content), StylizationTask)
    from stylize3d.scene_style import SceneStyleConfig
    from stylize3d.splats.stylize import SplatStyleOptions, SplatStyleTask
    from vector.restyle import RestyleConfig, SvgStyleTask
    from vector.params import SceneParams

    scene, cams = make_scene_and_cameras
    splat = SplatStyleTask(scene, cams, torch.rand(len(cams), 3, 32, 32), content, SceneStyleConfig(size=32),
                           SplatStyleOptions(), [])
    assert isinstance(splat, StylizationTask) and splat.stochastic
    params = SceneParams(svg_scene, ("colors",), 32, 32)
    svg = SvgStyleTask(svg_scene, params, RestyleConfig(size=32), None, None, stochastic=False)
    assert isinstance(svg, StylizationTask)


def test_front_ends_report_the_shared_objective_of_their_first_render(encoder, make_scene_and_cameras, svg_scene):
    """Zero steps: each front end's initial terms equal the shared objective evaluated on its own render."""
    content, style = _images()
    loss = StyleLossConfig(kind="gram", style_weight=2.0, content_weight=0.5)
    expected_2d = StyleObjective(loss, encoder=encoder).set_style([style], 32).terms(content, content)
    result_2d = stylize_gatys(content, [style], replace_fields(GatysConfig(loss=loss), steps=0), progress=False)
    assert result_2d.stylization.initial["style"] == pytest.approx(float(expected_2d["style"]), rel=1e-5)

    from stylize3d.splats.render import render
    from stylize3d.scene_style import BACKGROUND, SceneStyleConfig
    from stylize3d.stylize import stylize_scene

    scene, cams = make_scene_and_cameras
    config = replace_fields(SceneStyleConfig(loss=loss), steps=0, size=32, color_transfer=False, tv_weight=0.0)
    result_3d = stylize_scene(scene, style, cams, config=config, progress=False)
    view = int(torch.randint(len(cams), (1,), generator=torch.Generator().manual_seed(config.seed)))
    image = render(scene, cams[view], 32, 32, BACKGROUND).rgb.clamp(0, 1)
    expected_3d = StyleObjective(loss, encoder=encoder).set_style([style], 32).terms(image, image)
    assert result_3d.stylization.initial["style"] == pytest.approx(float(expected_3d["style"]), rel=1e-4)
    assert result_3d.stylization.initial["content"] == pytest.approx(0.0, abs=1e-9)

    from vector.restyle import RestyleConfig, render_on_white, restyle_scene

    image = render_on_white(svg_scene, 32, 32)
    svg_config = replace_fields(RestyleConfig(loss=loss), steps=0, size=32, crops=0, xing_weight=0.0)
    result_svg = restyle_scene(svg_scene, style, svg_config, progress=False)
    expected_svg = StyleObjective(loss, encoder=encoder).set_style([style], 32).terms(image, image)
    assert result_svg.stylization.initial["style"] == pytest.approx(float(expected_svg["style"]), rel=1e-4)
