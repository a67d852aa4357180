import pytest
import torch

from core.errors import InputError
from core.optimize import Checkpoint, optimize


def _quadratic(x, target):
    return lambda: {"total": ((x - target) ** 2).sum()}


@pytest.mark.parametrize("name,lr,steps", [("lbfgs", 1.0, 20), ("adam", 0.1, 300)])
def test_reaches_minimum_of_quadratic(name, lr, steps):
    target = torch.tensor([1.0, -2.0, 0.5])
    x = torch.zeros(3, requires_grad=True)
    result = optimize([x], _quadratic(x, target), steps, optimizer=name, lr=lr, progress=False)
    assert torch.allclose(x.detach(), target, atol=1e-2)
    assert result.steps_done == steps and not result.interrupted
    assert result.history[0]["total"] > result.history[-1]["total"]


def test_unknown_optimizer():
    x = torch.zeros(1, requires_grad=True)
    with pytest.raises(InputError, match="sgd"):
        optimize([x], _quadratic(x, torch.ones(1)), 1, optimizer="sgd", progress=False)


def test_best_value_is_kept_when_steps_overshoot():
    x = torch.zeros(1, requires_grad=True)
    # Adam with a huge lr jumps far past the minimum at 1; the best seen value (the start, loss 1) is restored
    result = optimize([x], _quadratic(x, torch.ones(1)), 3, optimizer="adam", lr=50.0, progress=False)
    assert result.kept_loss == pytest.approx(1.0)  # the start: every step made things worse
    assert min(h["total"] for h in result.history[1:]) > 1.0
    assert ((x.detach() - 1) ** 2).item() == pytest.approx(result.kept_loss)


def test_ctrl_c_keeps_best_and_checkpoint_resumes_to_same_result(tmp_path):
    target = torch.tensor([3.0, -1.0])

    def run(x, stop_at=None, resume=False):
        calls = {"n": 0}

        def loss():
            calls["n"] += 1
            if stop_at is not None and calls["n"] == stop_at:
                raise KeyboardInterrupt
            return {"total": ((x - target) ** 4).sum()}

        ckpt = Checkpoint(tmp_path / "ckpt.pt", every=2, meta={"job": 1})
        return optimize([x], loss, 12, optimizer="adam", lr=0.1, checkpoint=ckpt, resume=resume, progress=False)

    reference = torch.zeros(2, requires_grad=True)
    run(reference)
    x = torch.zeros(2, requires_grad=True)
    interrupted = run(x, stop_at=6)
    assert interrupted.interrupted and interrupted.steps_done == 5
    assert (tmp_path / "ckpt.pt").exists()
    assert ((x.detach() - target) ** 4).sum().item() == pytest.approx(interrupted.kept_loss)
    resumed = run(x, resume=True)
    assert resumed.steps_done == 7 and not (tmp_path / "ckpt.pt").exists()
    assert torch.allclose(x.detach(), reference.detach(), atol=1e-6)


def test_checkpoint_refuses_other_settings(tmp_path):
    Checkpoint(tmp_path / "c.pt", meta={"a": 1}).save({"step": 0})
    with pytest.raises(InputError, match="other inputs or settings"):
        Checkpoint(tmp_path / "c.pt", meta={"a": 2}).load()
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable"):
        Checkpoint(tmp_path / "bad.pt").load()


def test_keep_last_returns_the_final_step_not_the_lowest_loss():
    x = torch.zeros(1, requires_grad=True)
    # the same overshooting run as above: keep="best" would restore the start, keep="last" must not
    result = optimize([x], _quadratic(x, torch.ones(1)), 3, optimizer="adam", lr=50.0, progress=False, keep="last")
    assert abs(x.item()) > 10  # Adam's steps are about lr each: the last value is far from the start
    assert result.kept_loss == pytest.approx(result.history[-1]["total"])


def test_unknown_keep_mode():
    x = torch.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="keep must be one of"):
        optimize([x], _quadratic(x, torch.ones(1)), 1, progress=False, keep="median")


def test_resume_restores_the_random_draws_of_a_stochastic_objective(tmp_path):
    """A loss that samples a random target each step (like a random camera) resumes onto the same draws."""
    targets = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [3.0, 3.0]])

    def run(stop_at=None, resume=False):
        x = torch.zeros(2, requires_grad=True)
        generator = torch.Generator().manual_seed(7)
        drawn, calls = [], {"n": 0}

        def loss():
            calls["n"] += 1
            i = int(torch.randint(len(targets), (1,), generator=generator))
            if stop_at is not None and calls["n"] == stop_at:
                raise KeyboardInterrupt  # after this step's draw: resume must redraw it
            drawn.append(i)
            return {"total": ((x - targets[i]) ** 2).sum()}

        ckpt = Checkpoint(tmp_path / "ckpt.pt", every=1, meta={"job": 2})
        optimize([x], loss, 10, optimizer="adam", lr=0.3, checkpoint=ckpt, resume=resume, progress=False,
                 keep="last", generator=generator)
        return x.detach(), drawn

    reference, reference_draws = run()
    run(stop_at=5)
    resumed, resumed_draws = run(resume=True)
    assert resumed_draws == reference_draws[4:]
    assert torch.allclose(resumed, reference, atol=1e-6)
