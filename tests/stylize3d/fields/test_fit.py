"""Field fit (``stylize fit --model field``, :mod:`stylize3d.fields.fit`): a tiny fit end to end, its report,
one-line refusals, resuming, time budgets, and the held-out evaluation."""

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


def test_a_budget_on_another_clock_ends_the_fit_on_the_finest_grid(tiny_data):
    """``clock`` decides what the time budget counts (bench_field's ``--clock cpu``): a clock that advances one
    second per reading counts one second per step (read at its start and end), so a 5-second budget stops after
    5 of 1,000 steps, with the coarse-to-fine schedule completed."""
    import torch

    from stylize3d.datasets.posed import load_posed_dataset
    from stylize3d.fields.fit import FieldFitConfig, fit_field

    ticks = iter(range(10 ** 6))
    config = FieldFitConfig(steps=1000, voxels=3000, batch_rays=64, occupancy_every=0)
    result = fit_field(load_posed_dataset(tiny_data), config, torch.device("cpu"), progress=False,
                       time_budget=5.0, clock=lambda: float(next(ticks)))
    assert result.steps_done == 5 and result.seconds == 5.0
    assert result.field.density.numel() > 2000  # upsampled twice from 3000 / 64 points


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
