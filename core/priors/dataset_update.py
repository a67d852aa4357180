"""Iterative dataset update (Instruct-NeRF2NeRF, Haque et al. ICCV 2023; Instruct-GS2GS): a scene is optimised
toward per-view target images that are re-edited, a few at a time, from the scene's own renders.

:class:`DatasetUpdate` holds one target per training view (starting as the original photos). Every ``every``
optimisation steps it re-edits ``views_per_update`` views: it renders each, hands ``editor(render, original)``
the render and the original photo, and stores the result as that view's new target. Which views: ``"cycle"``
walks all views in order, as Instruct-NeRF2NeRF does; ``"current"`` edits the view the step is training on.
The optimiser then fits the scene to :meth:`DatasetUpdate.target` (e.g. an L1/LPIPS loss per view), so edits made
from different views are merged into one consistent scene over time.

The editor for text-driven 3D is :func:`core.priors.instruct.instruct_edit_from` (InstructPix2Pix: the render,
noised to a random level, is denoised conditioned on the original photo and the instruction).
"""

from pathlib import Path
from typing import Callable, Dict, Hashable, List, Optional, Sequence

import torch

from core.atomic import atomic_output
from core.errors import InputError

Editor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``editor(render 1,3,H,W, original 1,3,H,W) -> edited 1,3,H,W``, all in [0,1]."""

SCHEDULES = ("cycle", "current")


class DatasetUpdate:
    """Per-view edit targets and their update schedule.

    ``originals``: the training photos, one ``1,3,H,W`` tensor in [0,1] per view (views are indices 0…N−1).
    ``every``: steps between updates (step 0 updates too); ``views_per_update``: views re-edited per update.
    """

    def __init__(self, originals: Sequence[torch.Tensor], editor: Editor, every: int = 10,
                 views_per_update: int = 1, schedule: str = "cycle"):
        if not originals:
            raise InputError("the dataset update needs at least one training view")
        if every < 1 or views_per_update < 1:
            raise InputError("--edit-every and --edits-per-update must be at least 1")
        if schedule not in SCHEDULES:
            raise InputError(f"unknown edit schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")
        self.originals = [o.detach() for o in originals]
        self.targets: List[torch.Tensor] = list(self.originals)
        self.editor, self.every, self.views_per_update, self.schedule = editor, every, views_per_update, schedule
        self.cursor = 0
        self.history: List[tuple] = []
        """``(step, view)`` for every edit made, in order."""

    def __len__(self) -> int:
        return len(self.originals)

    def scheduled(self, step: int, view: Optional[int] = None) -> List[int]:
        """The views :meth:`maybe_update` would re-edit at ``step`` (without changing anything)."""
        if step % self.every:
            return []
        if self.schedule == "current":
            if view is None:
                raise ValueError("the 'current' schedule needs the view being trained")
            return [int(view)]
        count = min(self.views_per_update, len(self))
        return [(self.cursor + i) % len(self) for i in range(count)]

    def maybe_update(self, step: int, view: Optional[int], render_fn: Callable[[int], torch.Tensor]) -> List[int]:
        """Re-edit the views scheduled at ``step`` from ``render_fn(view) -> 1,3,H,W`` (run without gradients);
        returns the views updated (empty on other steps)."""
        views = self.scheduled(step, view)
        for v in views:
            with torch.no_grad():
                render = render_fn(v).detach().clamp(0.0, 1.0)
                self.targets[v] = self.editor(render, self.originals[v]).detach()
            self.history.append((int(step), v))
        if self.schedule == "cycle" and views:
            self.cursor = (self.cursor + len(views)) % len(self)
        return views

    def target(self, view: int) -> torch.Tensor:
        """The current target of ``view`` ``1,3,H,W`` (the original until the view is first edited)."""
        return self.targets[view]

    def edited_views(self) -> List[Hashable]:
        """Views edited at least once."""
        return sorted({v for _, v in self.history})

    def state_dict(self) -> dict:
        """Targets, cursor and history for a checkpoint (targets on the CPU)."""
        return {"targets": [t.cpu() for t in self.targets], "cursor": self.cursor, "history": list(self.history)}

    def load_state_dict(self, state: dict) -> None:
        if len(state["targets"]) != len(self):
            raise InputError("the checkpoint's dataset update holds another number of views")
        device = self.originals[0].device
        self.targets = [t.to(device) for t in state["targets"]]
        self.cursor, self.history = int(state["cursor"]), [tuple(h) for h in state["history"]]


class DatasetUpdateTerm:
    """The dataset update as an extra loss term of the stylization driver: ``term(image, view) -> {"edit": …}``.

    Each call is one optimisation step on ``view`` (an index into the update's views): it first lets ``update``
    re-edit the views scheduled at this step (rendering them with ``render_fn`` under ``no_grad``), then returns
    ``weight · mean|image − target(view)|`` (L1, as Instruct-NeRF2NeRF). ``image`` ``1,3,H,W`` is the render of
    ``view`` with gradients. With ``state_path`` the update's state is written there (atomically) after every
    update and :meth:`resume` reads it back, so ``--resume`` continues with the edited targets. Calls without
    gradients (the driver's initial and final evaluations) only measure: they neither edit nor count as a step.
    """

    def __init__(self, update: DatasetUpdate, render_fn: Callable[[int], torch.Tensor], weight: float = 1.0,
                 state_path: "str | Path | None" = None):
        self.update, self.render_fn, self.weight = update, render_fn, weight
        self.state_path = None if state_path is None else Path(state_path)
        self.step = 0

    def resume(self) -> bool:
        """Load the saved state (targets, schedule, step) when ``state_path`` holds one; returns whether it did."""
        if self.state_path is None or not self.state_path.exists():
            return False
        state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        self.update.load_state_dict(state["update"])
        self.step = int(state["step"])
        return True

    def __call__(self, image: torch.Tensor, view) -> Dict[str, torch.Tensor]:
        view = int(view)
        if not torch.is_grad_enabled():  # the driver's initial/final evaluations: measure only, no step
            return {"edit": self.weight * (image - self.update.target(view).to(image)).abs().mean()}
        if self.update.maybe_update(self.step, view, self.render_fn) and self.state_path is not None:
            with atomic_output(self.state_path) as tmp:
                torch.save({"update": self.update.state_dict(), "step": self.step + 1}, tmp)
        self.step += 1
        target = self.update.target(view).to(image)
        return {"edit": self.weight * (image - target).abs().mean()}
