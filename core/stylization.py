"""The stylization driver: one loop for every front end — ``represent → render(view) → objective + terms → step``.

A front end (2D image, Gaussian splats, radiance field, SVG, brush strokes) is a **task**: an object that
knows its trainable parameters and how to render them from a view. :func:`stylize` does the rest: it draws
a view per step, renders it, evaluates the shared :class:`core.losses.objective.StyleObjective` against the
task's content reference, adds the task's regularisers and any extra :data:`Term` (SDS, temporal, palette…),
and steps the optimiser through :func:`core.optimize.optimize` (progress bar, Ctrl-C, checkpoints, resume).

How to add a front end — the splat task (``stylize3d/splats/stylize.py``) as the worked example:

1. **Represent.** Hold the parameters as leaf tensors (``SplatStyleTask.params()`` returns the SH DC colours,
   and opacity/scales when asked for); everything else of the scene stays frozen.
2. **Views.** ``sample_view(generator)`` draws what one step looks at — a training-camera index for splats,
   ``None`` for a single image, a crop box for SVG — always from the generator it is given (checkpointed, so a
   resumed run draws the same views). Set ``stochastic = True`` when views are random: the driver then keeps
   the last iterate instead of the lowest single-draw loss.
3. **Render.** ``render(view) -> 1,3,H,W`` in [0,1], differentiable in ``params()``; ``reference(view)`` is the
   content target for that view (the recoloured original render) and ``view_key(view)`` a cache key so its
   VGG features are computed once per view. Renderers too big for one autograd graph (radiance fields)
   return an image whose backward re-renders in chunks (deferred back-propagation): the driver never knows.
4. **Regularise and constrain.** ``regularizers(image, view)`` returns already-weighted terms (image TV,
   geometry pulls); ``project()`` clamps after each step; ``finish(interrupted)`` writes the result back
   (final colour transfer, palette snap).
5. **Command.** A config dataclass whose fields carry their help (``core.cli.add_config_options`` turns them
   into flags) and a handler run through ``core.cli.run_job``.

Extra terms share one contract, :data:`Term`: ``term(image, view) -> {name: weighted scalar}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, List, Optional, Protocol, Sequence, runtime_checkable

import torch

from core.errors import InputError
from core.losses.objective import StyleObjective
from core.loop_config import LoopConfig
from core.optimize import Checkpoint, OptimizeResult, optimize

Term = Callable[[torch.Tensor, Any], Dict[str, torch.Tensor]]
"""An extra loss: ``(image 1,3,H,W in [0,1], view) -> {name: already-weighted scalar}`` added to the total."""


@runtime_checkable
class StylizationTask(Protocol):
    """What a front end implements for :func:`stylize` (see the module docstring)."""

    stochastic: bool

    def params(self) -> List[torch.Tensor]: ...

    def sample_view(self, generator: torch.Generator) -> Any: ...

    def render(self, view: Any) -> torch.Tensor: ...

    def reference(self, view: Any) -> Optional[torch.Tensor]: ...

    def view_key(self, view: Any) -> Hashable: ...

    def regularizers(self, image: torch.Tensor, view: Any) -> Dict[str, torch.Tensor]: ...

    def project(self) -> None: ...

    def finish(self, interrupted: bool) -> None: ...


class TaskDefaults:
    """Mixin with the do-nothing parts of :class:`StylizationTask`: one fixed view, no reference, no extras."""

    stochastic = False

    def sample_view(self, generator: torch.Generator) -> Any:
        return None

    def reference(self, view: Any) -> Optional[torch.Tensor]:
        return None

    def view_key(self, view: Any) -> Hashable:
        return view

    def regularizers(self, image: torch.Tensor, view: Any) -> Dict[str, torch.Tensor]:
        return {}

    def project(self) -> None:
        pass

    def finish(self, interrupted: bool) -> None:
        pass


@dataclass
class StylizationResult:
    """What :func:`stylize` did. ``initial``/``final`` are the loss terms (and ``total``) on the evaluation view,
    computed without gradients before the first step and after ``task.finish``."""

    optimization: OptimizeResult
    initial: Dict[str, float]
    final: Dict[str, float]
    interrupted: bool


def evaluate(task: StylizationTask, objective: StyleObjective, view: Any, terms: Sequence[Term] = ()) -> dict:
    """All loss terms of ``task`` rendered at ``view``: objective terms, regularisers, extra terms, ``total``."""
    image = task.render(view)
    values = objective.terms(image, task.reference(view), key=task.view_key(view))
    total = objective.weighted_total(values)
    extras = [task.regularizers(image, view), *(term(image, view) for term in terms)]
    for extra in extras:
        for name, value in extra.items():
            values[name] = value
            total = total + value
    values["total"] = total
    return values


def _as_floats(values: dict) -> Dict[str, float]:
    return {name: float(value.detach()) for name, value in values.items()}


def stylize(task: StylizationTask, objective: StyleObjective, loop: LoopConfig, terms: Sequence[Term] = (),
            checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
            desc: str = "stylizing", seed: int = 0) -> StylizationResult:
    """Optimise ``task.params()`` for ``loop.steps`` steps against ``objective`` (targets already set) + ``terms``.

    Each step draws ``view = task.sample_view(generator)`` (a ``torch.Generator`` seeded with ``seed``, saved in
    the checkpoint), renders it and minimises :func:`evaluate`'s ``total``. Deterministic tasks keep the
    lowest-loss parameters, stochastic ones the last (also after Ctrl-C, which sets ``interrupted``).
    ``initial``/``final`` are measured on one fixed evaluation view (the first draw of a fresh generator
    seeded with ``seed``), so the two numbers compare.
    """
    loop.validate()
    params = task.params()
    if not params:
        raise InputError("nothing to optimise: the task has no trainable parameters")
    eval_view = task.sample_view(torch.Generator().manual_seed(seed))
    with torch.no_grad():
        initial = _as_floats(evaluate(task, objective, eval_view, terms))
    generator = torch.Generator().manual_seed(seed)

    def loss_fn():
        return evaluate(task, objective, task.sample_view(generator), terms)

    result = optimize(params, loss_fn, loop.steps, optimizer=loop.optimizer, lr=loop.resolved_lr, project=task.project,
                      checkpoint=checkpoint, resume=resume, progress=progress, desc=desc,
                      keep="last" if task.stochastic else "best", generator=generator)
    task.finish(result.interrupted)
    with torch.no_grad():
        final = _as_floats(evaluate(task, objective, eval_view, terms))
    return StylizationResult(result, initial, final, result.interrupted)
