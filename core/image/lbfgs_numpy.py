"""A few L-BFGS steps in numpy, for an objective whose gradient comes from any engine (torch autograd, ONNX Runtime).

The fast path (:mod:`core.image.fast`) takes only two or three steps, so the step rule matters more than the
asymptotics: the first step is steepest descent scaled so that the largest pixel change is ``first_step`` (torch's
L-BFGS instead probes with ``1 / ‖g‖₁``, a near-zero move that spends a whole evaluation on learning the
curvature); every later step is the two-loop L-BFGS direction with step 1, the initial inverse Hessian scaled by
``sᵀy / yᵀy`` (Nocedal & Wright, eq. 7.20). After each step the image is clipped to ``[lower, upper]``; the
curvature pair keeps the unclipped step, as ``torch.optim.LBFGS`` with a projection after ``step()`` does.
No line search: each step costs exactly one evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import numpy as np

Objective = Callable[[np.ndarray], Tuple[float, np.ndarray, dict]]
"""``f(x) -> (loss, dloss/dx, terms)`` for ``x`` float64 of any shape; ``terms``: named loss parts (floats)."""


@dataclass
class StepsResult:
    """What :func:`lbfgs_steps` did: the final ``x``, the loss terms at each evaluated iterate, and whether the loop
    stopped early (``stopped``: ``"converged"``, ``"interrupted"`` or ``None``)."""

    x: np.ndarray
    history: List[dict] = field(default_factory=list)
    stopped: Optional[str] = None


def lbfgs_steps(f: Objective, x0: np.ndarray, steps: int, first_step: float = 0.05, lower: float = 0.0,
                upper: float = 1.0, history_size: int = 20,
                on_step: Optional[Callable[[int, dict], None]] = None) -> StepsResult:
    """Take ``steps`` L-BFGS steps from ``x0`` (each one evaluation of ``f``; the iterate after the last step is not
    evaluated). ``first_step``: the largest pixel change of the first (steepest-descent) step, in the units of
    ``x``. ``on_step(i, terms)`` is called after each evaluation (a progress bar); Ctrl-C during a step stops the
    loop and returns the last finished iterate with ``stopped="interrupted"``."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if not first_step > 0:
        raise ValueError(f"first_step must be > 0, got {first_step}")
    x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
    result = StepsResult(x=x)
    pairs: List[Tuple[np.ndarray, np.ndarray, float]] = []  # (s, y, 1 / yᵀs), oldest first
    previous: Optional[Tuple[np.ndarray, np.ndarray]] = None  # (step taken s, gradient where it started)
    for i in range(steps):
        try:
            loss, grad, terms = f(x)
        except KeyboardInterrupt:
            result.stopped = "interrupted"
            break
        grad = np.asarray(grad, dtype=np.float64).reshape(x.shape)
        result.history.append({**terms, "total": float(loss)})
        if on_step is not None:
            on_step(i, result.history[-1])
        peak = float(np.abs(grad).max())
        if not peak > 1e-12:
            result.stopped = "converged"
            break
        if previous is not None:
            s, g_before = previous
            y = grad - g_before
            ys = float((y * s).sum())
            if ys > 1e-10:
                pairs.append((s, y, 1.0 / ys))
                del pairs[:-history_size]
        if pairs:
            step = -_two_loop(grad, pairs)
        else:
            step = -grad * (first_step / peak)
        if float((step * grad).sum()) >= 0:  # not a descent direction (noisy curvature): fall back to steepest
            pairs.clear()
            step = -grad * (first_step / peak)
        previous = (step, grad)
        x = np.clip(x + step, lower, upper)
        result.x = x
    return result


def _two_loop(grad: np.ndarray, pairs: List[Tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """``H·grad`` by the L-BFGS two-loop recursion over the curvature ``pairs`` (oldest first)."""
    q = grad.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * float((s * q).sum())
        q -= alpha * y
        alphas.append(alpha)
    s, y, rho = pairs[-1]
    q *= 1.0 / (rho * float((y * y).sum()))  # sᵀy / yᵀy
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * float((y * q).sum())
        q += (alpha - beta) * s
    return q
