"""``stylize fit``: a tiny fit end to end, its report, and one-line refusals."""

import json

import pytest

from core.cli import main
from stylize3d.datasets.synthetic import write_synthetic_dataset
from stylize3d.fields.grid import load_field
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
