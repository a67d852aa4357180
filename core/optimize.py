"""The generic optimisation loop every stylizer uses: parameters + loss closure → optimiser steps.

It shows a progress bar with the live loss, tracks the best parameters seen, keeps them on Ctrl-C, and saves
and resumes checkpoints. Front ends only supply the parameters and a loss function.

Deterministic objectives (one image, fixed targets) keep the lowest-loss parameters (``keep="best"``).
Stochastic ones — a random camera or crop per step — keep the last (``keep="last"``): there the lowest single
loss only marks the easiest draw, not the best parameters. Their random generator is checkpointed with the
parameters, so a resumed run draws what the uninterrupted run would have drawn.
"""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch
from tqdm.auto import tqdm

from core.atomic import atomic_output
from core.errors import InputError
from core.loop_config import OPTIMIZERS

LossFn = Callable[[], Dict[str, torch.Tensor]]
"""Returns a dict of named loss terms; the key ``"total"`` is what gets minimised."""

KEEP = ("best", "last")


@dataclass
class OptimizeResult:
    """Outcome of :func:`optimize`. ``params`` hold the kept values (best or last) when the loop ends.

    ``kept_loss`` is the loss of the kept parameters: the lowest seen (``keep="best"``), or the loss evaluated
    at the start of the last step (``keep="last"``; the last update itself is not re-evaluated).
    """

    kept_loss: float
    history: List[dict] = field(default_factory=list)
    steps_done: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def seconds_per_step(self) -> Optional[float]:
        return self.seconds / self.steps_done if self.steps_done else None


def make_optimizer(params: Sequence[torch.Tensor], name: str, lr: float) -> torch.optim.Optimizer:
    """L-BFGS (one iteration per step, history 100) or Adam over ``params``."""
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=100)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise InputError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


class Checkpoint:
    """A resumable snapshot of an optimisation, saved atomically every ``every`` steps.

    ``meta`` describes the job (inputs, settings); resuming with different meta is refused.
    """

    def __init__(self, path: "str | os.PathLike", every: int = 50, meta: Optional[dict] = None):
        self.path = Path(path)
        self.every = max(1, int(every))
        self.meta = dict(meta or {})

    def save(self, state: dict) -> None:
        with atomic_output(self.path) as tmp:
            torch.save({"meta": self.meta, **state}, tmp)

    def read(self) -> Optional[dict]:
        """The saved state without checking its meta, or None when there is no checkpoint file."""
        if not self.path.exists():
            return None
        try:  # weights_only: tensors and plain containers only, so a planted file cannot run code
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:
            message = " ".join(str(exc).split())[:200]
            raise InputError(f"checkpoint {self.path} is unreadable ({message}); delete it to start over") from None
        if not isinstance(state, dict) or not isinstance(state.get("meta"), dict):
            raise InputError(f"checkpoint {self.path} is not a stylize checkpoint; delete it to start over")
        return state

    def load(self) -> Optional[dict]:
        """The saved state, or None when there is no checkpoint file; refuses a state with other meta."""
        state = self.read()
        if state is None:
            return None
        if state.get("meta") != self.meta:
            raise InputError(f"checkpoint {self.path} was made with other inputs or settings; delete it to start over")
        return state

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _restore(state: dict, params: List[torch.Tensor], opt: torch.optim.Optimizer,
             generator: Optional[torch.Generator], keep: str) -> tuple:
    """Load a checkpoint's parameters, optimiser and RNG state in place; returns ``(best, history, step)``.
    Raises KeyError/TypeError/ValueError/RuntimeError when the state does not match ``params``."""
    saved, best_params = list(state["params"]), list(state["best_params"])
    if len(saved) != len(params) or (keep == "best" and len(best_params) != len(params)):
        raise ValueError(f"it holds {len(saved)} parameter tensors, the job has {len(params)}")
    for p, s in [*zip(params, saved), *zip(params, best_params)]:
        if not isinstance(s, torch.Tensor) or s.shape != p.shape:
            raise ValueError(f"a saved tensor has shape {getattr(s, 'shape', None)}, the parameter {tuple(p.shape)}")
    step, history, best_loss = state["step"], state["history"], float(state["kept_loss"])
    if not isinstance(step, int) or step < 0 or not isinstance(history, list):
        raise ValueError("its step count or history is malformed")
    with torch.no_grad():
        for p, s in zip(params, saved):
            p.copy_(s.to(p))
    opt.load_state_dict(state["optimizer"])
    best = {"loss": best_loss, "values": [v.to(p) for v, p in zip(best_params, params)]}
    if generator is not None and state.get("generator") is not None:
        generator.set_state(state["generator"])
    return best, history, step


def optimize(
    params: Sequence[torch.Tensor],
    loss_fn: LossFn,
    steps: int,
    optimizer: str = "lbfgs",
    lr: float = 1.0,
    project: Optional[Callable[[], None]] = None,
    checkpoint: Optional[Checkpoint] = None,
    resume: bool = False,
    progress: bool = True,
    desc: str = "stylizing",
    keep: str = "best",
    generator: Optional[torch.Generator] = None,
) -> OptimizeResult:
    """Minimise ``loss_fn()["total"]`` over ``params`` for ``steps`` optimiser steps.

    ``project`` runs without gradient after each step (e.g. clamp pixels into [0,1]). On return (also after
    Ctrl-C, which sets ``interrupted``) the tensors in ``params`` hold the lowest-loss values seen
    (``keep="best"``) or the last ones (``keep="last"``, for stochastic objectives). With ``checkpoint``, state
    is saved every ``checkpoint.every`` steps and on Ctrl-C; ``resume=True`` continues from a saved state.
    ``generator``: the RNG ``loss_fn`` draws from; its state is checkpointed and restored on resume. The
    checkpoint file is removed when all steps completed.
    """
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}, got {keep!r}")
    params = list(params)
    opt = make_optimizer(params, optimizer, lr)
    best = {"loss": float("inf"), "values": [p.detach().clone() for p in params] if keep == "best" else []}
    history: List[dict] = []
    start_step = 0
    if resume and checkpoint is not None:
        state = checkpoint.load()
        if state is not None:
            try:
                best, history, start_step = _restore(state, params, opt, generator, keep)
            except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
                message = " ".join(str(exc).split())[:120]
                raise InputError(f"checkpoint {checkpoint.path} does not fit this job ({type(exc).__name__}: "
                                 f"{message}); delete it to start over") from None

    last_terms: dict = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        terms = loss_fn()
        total = terms["total"]
        total.backward()
        value = float(total.detach())
        if keep == "last":
            best["loss"] = value
        elif value < best["loss"]:
            best["loss"] = value
            best["values"] = [p.detach().clone() for p in params]
        last_terms.clear()
        last_terms.update({k: float(v.detach()) for k, v in terms.items()})
        return total

    def save(step: int, generator_state: Optional[torch.Tensor]) -> None:
        if checkpoint is not None:
            checkpoint.save({"params": [p.detach().cpu() for p in params], "optimizer": opt.state_dict(),
                             "kept_loss": best["loss"], "best_params": [v.cpu() for v in best["values"]],
                             "history": history, "step": step,
                             "generator": generator_state})

    interrupted = False
    step = start_step
    bar = tqdm(total=steps, initial=start_step, desc=desc, disable=not progress, dynamic_ncols=True, leave=False)
    generator_state = generator.get_state() if generator is not None else None
    started = time.perf_counter()
    try:
        while step < steps:
            opt.step(closure)
            if project is not None:
                with torch.no_grad():
                    project()
            step += 1
            # the RNG as the next step starts: an interrupted step is redone from here on resume
            generator_state = generator.get_state() if generator is not None else None
            history.append({"step": step, **last_terms})
            bar.set_postfix(loss=f"{last_terms.get('total', float('nan')):.4g}")
            bar.update(1)
            if checkpoint is not None and step % checkpoint.every == 0 and step < steps:
                save(step, generator_state)
    except KeyboardInterrupt:
        interrupted = True
        save(step, generator_state)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    if keep == "best":
        # Evaluate the final parameters too, so the best-of includes the last step's result.
        if not interrupted and steps > start_step:
            with torch.enable_grad():
                closure()
            opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for p, value in zip(params, best["values"]):
                p.copy_(value)
    if checkpoint is not None and not interrupted:
        checkpoint.remove()
    return OptimizeResult(kept_loss=best["loss"], history=history, steps_done=step - start_step,
                          interrupted=interrupted, seconds=seconds)
