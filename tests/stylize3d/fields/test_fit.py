"""Field fit (``stylize fit --model field``, :mod:`stylize3d.fields.fit`): a tiny fit end to end, its report,
one-line refusals, resuming, the ``--minutes`` budget, and the held-out evaluation."""

import json

import pytest

from core.cli import main
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.fields.io import load_field
from tests.stylize3d.conftest import random_scene


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_synthetic_dataset(tmp_path_factory.mktemp("posed"), views=9, size=12,
                                   scene=random_scene(150, degree=0, spread=0.6))


def test_fit_writes_field_report_and_curve(tiny_data, tmp_path):
    out, report = tmp_path / "f.safetensors", tmp_path / "fit.json"
    rc = main(["fit", str(tiny_data), "-o", str(out), "--steps", "30", "--voxels", "4000", "--batch-rays", "256",
               "--eval-every", "10", "--report", str(report), "--quiet"])
    assert rc == 0
    field = load_field(out)
    assert field.background == (1.0, 1.0, 1.0)
    metrics = json.loads(report.read_text())["metrics"]
    assert [v["view"] for v in metrics["test_views"]] == [7, 8]  # frames 0 and 8, listed after the 7 training views
    assert [c["step"] for c in metrics["curve"]] == [10, 20, 30]
    assert all(c["psnr"] > 5 for c in metrics["curve"]) and (tmp_path / "fit.psnr.png").stat().st_size > 1000
    assert not list(tmp_path.glob(".*checkpoint*"))  # removed after a complete run


@pytest.mark.parametrize("extra, message", [
    (["-o", "x.ply"], "must end in .safetensors"),
    (["-o", "x.safetensors", "--sh-degree", "3"], "--sh-degree must be 0, 1 or 2"),
    (["-o", "x.safetensors", "--voxels", "100000000000"], "GiB"),
    (["-o", "x.safetensors", "--sample-step", "0"], "--sample-step must be positive"),
])
def test_bad_options_are_one_line(tiny_data, tmp_path, capsys, extra, message):
    extra = [a if not a.startswith("x.") else str(tmp_path / a) for a in extra]
    assert main(["fit", str(tiny_data), *extra, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_interrupted_fit_resumes_onto_the_same_result(tiny_data, tmp_path):
    import torch

    from core.optimize import Checkpoint
    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.fit import FieldFitConfig, fit_field

    data = load_posed_dataset(tiny_data)
    config = FieldFitConfig(steps=16, voxels=3000, batch_rays=128, occupancy_every=4)
    whole = fit_field(data, config, torch.device("cpu"), progress=False)

    def stop_at_9(step, field):
        if step == 9:
            raise KeyboardInterrupt

    checkpoint = Checkpoint(tmp_path / "ck.pt", every=100, meta={"run": 1})
    first = fit_field(data, config, torch.device("cpu"), checkpoint=checkpoint, progress=False, on_step=stop_at_9)
    assert first.interrupted and first.steps_done == 9 and checkpoint.path.exists()
    rest = fit_field(data, config, torch.device("cpu"), checkpoint=checkpoint, resume=True, progress=False)
    assert rest.steps_done == 7 and not rest.interrupted and not checkpoint.path.exists()
    assert torch.allclose(rest.field.density, whole.field.density, atol=1e-6)
    assert torch.equal(rest.field.occupancy, whole.field.occupancy)


def _eighth_second_clock():
    """A fake clock that advances 1/8 s at every reading (exact in binary floating point)."""
    ticks = iter(range(10 ** 6))
    return lambda: next(ticks) / 8


def test_a_binding_budget_spreads_the_schedule_and_stops_within_it(tiny_data):
    """``--minutes`` 0.25 (15 s) on a clock that advances 1/8 s per reading (once before the loop, once after each
    step): 119 of 1,000 steps fit in it, the fit stops at exactly 15 s, and the coarse-to-fine schedule (which by
    step count would upsample at steps 150 and 350) completed on the way: the field ends on its finest grid."""
    import torch

    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.bounds import resolution_for
    from stylize3d.fields.fit import FieldFitConfig, fit_field

    config = FieldFitConfig(steps=1000, voxels=3000, batch_rays=64, occupancy_every=0, minutes=0.25)
    result = fit_field(load_posed_dataset(tiny_data), config, torch.device("cpu"), progress=False,
                       clock=_eighth_second_clock())
    assert result.steps_done == 119 and result.seconds == 15.0
    assert result.budget == {"budget_s": 15.0, "budget_left_s": 0.0, "stopped_by": "budget", "schedule_progress": 1.0}
    finest = resolution_for(result.field.box_min, result.field.box_max, config.voxels)
    assert result.field.resolution == finest and result.field.density.numel() > 2000  # 3000 / 64 points at first


def test_steps_that_finish_early_report_the_budget_left(tiny_data):
    """5 steps on the same clock take 6/8 s of a 15-second budget: stopped by the steps, 14.25 s left, and the
    command's line says so."""
    import torch

    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.fit import FieldFitConfig, fit_field
    from stylize3d.fit_budget import budget_note

    config = FieldFitConfig(steps=5, voxels=3000, batch_rays=64, occupancy_every=0, minutes=0.25)
    result = fit_field(load_posed_dataset(tiny_data), config, torch.device("cpu"), progress=False,
                       clock=_eighth_second_clock())
    assert result.steps_done == 5 and result.seconds == 0.75
    assert result.budget == {"budget_s": 15.0, "budget_left_s": 14.25, "stopped_by": "steps",
                             "schedule_progress": 1.0}
    assert budget_note(result.budget) == ("fit: the steps finished with 14 s of the 0.25-minute budget left "
                                          "(raise --steps to use it)")


def test_a_resumed_fit_counts_the_interrupted_runs_time_against_the_budget(tiny_data, tmp_path):
    """Interrupted after 50 steps (6.375 s of the 15-second budget on the 1/8-second clock), the resumed fit starts
    its budget there: 50 + 68 steps in all (one fewer than uninterrupted, the resumed run's first clock reading),
    stopped by the budget at 15 s with the schedule complete."""
    import torch

    from core.optimize import Checkpoint
    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.fit import FieldFitConfig, fit_field

    data = load_posed_dataset(tiny_data)
    config = FieldFitConfig(steps=1000, voxels=3000, batch_rays=64, occupancy_every=0, minutes=0.25)

    def stop_at_50(step, field):
        if step == 50:
            raise KeyboardInterrupt

    checkpoint = Checkpoint(tmp_path / "ck.pt", every=10 ** 6, meta={"run": 1})
    first = fit_field(data, config, torch.device("cpu"), checkpoint=checkpoint, progress=False, on_step=stop_at_50,
                      clock=_eighth_second_clock())
    assert first.interrupted and first.steps_done == 50 and first.budget["stopped_by"] == "interrupt"
    rest = fit_field(data, config, torch.device("cpu"), checkpoint=checkpoint, resume=True, progress=False,
                     clock=_eighth_second_clock())
    assert rest.steps_done == 68 and rest.seconds == 15.0
    assert rest.budget["stopped_by"] == "budget" and rest.budget["schedule_progress"] == 1.0


def test_fit_command_reports_the_budget_left(tiny_data, tmp_path, capsys):
    report = tmp_path / "fit.json"
    assert main(["fit", str(tiny_data), "-o", str(tmp_path / "f.safetensors"), "--steps", "3", "--voxels", "2000",
                 "--batch-rays", "64", "--minutes", "30", "--report", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["stopped_by"] == "steps" and metrics["budget_s"] == 1800.0
    assert 0 < metrics["budget_left_s"] < 1800 and metrics["schedule_progress"] == 1.0
    assert "of the 30-minute budget left (raise --steps to use it)" in capsys.readouterr().err
    assert main(["fit", str(tiny_data), "-o", str(tmp_path / "g.safetensors"), "--minutes", "0", "--quiet"]) == 2
    assert "--minutes must be positive, got 0.0" in capsys.readouterr().err


def test_evaluation_of_a_field_against_its_own_renders_is_exact_and_an_offset_gives_its_db():
    """Targets rendered by the field itself: PSNR inf and SSIM 1 per view; targets 0.1 brighter: an MSE of 0.01,
    20 dB."""
    import math

    import torch

    from stylize3d.cameras import Cameras, intrinsics_from_fov, look_at
    from stylize3d.datasets.posed import PosedDataset
    from stylize3d.fields.fit import evaluate
    from stylize3d.fields.grid import new_field
    from stylize3d.fields.render import render_field

    g = torch.Generator().manual_seed(0)
    field = new_field(-torch.ones(3), torch.ones(3), (6, 6, 6))
    field.density = torch.randn(field.density.shape, generator=g) * 3
    field.colour = torch.randn(field.colour.shape, generator=g)
    eyes = torch.tensor([[3.0, 0.0, 1.0], [0.0, 3.0, 1.0], [-3.0, 0.0, 1.0]])
    cams = Cameras(look_at(eyes, torch.zeros(3), torch.tensor([0.0, 0.0, 1.0])),
                   intrinsics_from_fov(60.0, 16, 12).repeat(3, 1, 1), torch.full((3,), 16), torch.full((3,), 12))
    background = (0.5, 0.5, 0.5)  # renders stay inside (0, 1): the clamp leaves them be
    with torch.no_grad():
        images = render_field(field, cams, 16, 12, background).rgb

    def data(targets):
        return PosedDataset(cams, targets, None, {"train": [0], "test": [1, 2]}, "blender",
                            [f"view{i}.png" for i in range(3)])

    exact = evaluate(field, data(images), [1, 2], background)
    assert [(v["view"], v["file"]) for v in exact] == [(1, "view1.png"), (2, "view2.png")]
    assert all(v["psnr"] == math.inf and v["ssim"] == pytest.approx(1.0, abs=1e-9) for v in exact)
    offset = evaluate(field, data(images + 0.1), [2], background, with_ssim=False)
    assert offset[0]["psnr"] == pytest.approx(20.0, abs=1e-4) and "ssim" not in offset[0]
