"""Text-driven editing of a 3D scene (Instruct-GS2GS for Gaussian splats, Instruct-NeRF2NeRF for radiance fields)
on core's driver.

The scene is optimised toward per-view targets that start as its own renders and are re-edited, a few views
every K steps, by InstructPix2Pix from the current render conditioned on the original render
(:class:`core.priors.dataset_update.DatasetUpdate`, editor :func:`core.priors.instruct.instruct_edit_from`).
The loss per step is the L1 distance to the current target of the trained view
(:class:`core.priors.dataset_update.DatasetUpdateTerm`) plus the representation's task regularisers (image TV;
geometry pulls for splats); there is no style picture, so no style or content term and no colour transfer.
Every representation goes through the same update and term; only its edit task (``Representation.edit_task``,
:mod:`stylize3d.representations`) differs: splats train what ``--optimize`` says
(:class:`~stylize3d.splats.stylize.SplatStyleTask`), radiance fields their colour grid at SH degree 0 with the
density frozen (:class:`~stylize3d.fields.stylize.FieldStyleTask`, deferred back-propagation), so a field edit
changes colours, not shapes. The ``stylize scene --instruct`` command is :mod:`stylize3d.instruct_cli`.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Tuple

import torch

from core.errors import ConfigError
from core.optimize import Checkpoint
from core.priors.dataset_update import SCHEDULES, DatasetUpdate, DatasetUpdateTerm
from core.priors.model import DiffusionModel
from core.stylization import stylize
from stylize3d.cameras import Cameras
from stylize3d.representations import representation_of
from stylize3d.scene_style import SceneStyleConfig, SceneStyleResult


@dataclass
class EditConfig:
    """The dataset update of ``stylize scene --instruct`` (Instruct-NeRF2NeRF's defaults where it has them)."""

    edit_every: int = field(default=10, metadata={"help": "steps between dataset updates"})
    edits_per_update: int = field(default=1, metadata={"help": "views re-edited per update"})
    edit_schedule: str = field(default="cycle", metadata={
        "help": "cycle: walk all views in order; current: edit the view being trained", "choices": SCHEDULES})
    edit_weight: float = field(default=1.0, metadata={"help": "weight of the L1 pull toward the edited views"})
    edit_noise: Tuple[float, float] = field(default=(0.02, 0.98), metadata={
        "help": "range of the noise level each render is edited from (fractions of the diffusion timesteps)"})

    def validate(self) -> None:
        if self.edit_every < 1 or self.edits_per_update < 1:
            raise ConfigError("edit_every", "edit_every and edits_per_update must be at least 1")
        if not 0.0 <= self.edit_noise[0] <= self.edit_noise[1] <= 1.0:
            raise ConfigError("edit_noise", f"must be low,high within 0..1, got {self.edit_noise}")


class NoObjective:
    """The driver's objective slot when the loss is only extra terms: no terms, a zero total."""

    def terms(self, image: torch.Tensor, reference=None, key=None) -> dict:
        return {}

    def weighted_total(self, terms: dict) -> torch.Tensor:
        return torch.zeros(())


def instruct_scene(scene, cameras: Cameras, model: DiffusionModel,
                   instruction: str, config: SceneStyleConfig, edit: EditConfig, *, options=None,
                   edit_options: Optional[dict] = None, checkpoint: Optional[Checkpoint] = None,
                   resume: bool = False, progress: bool = True, state_path: "str | Path | None" = None
                   ) -> "tuple[SceneStyleResult, DatasetUpdate]":
    """Edit ``scene`` (Gaussian splats or a radiance field) seen from ``cameras`` by ``instruction`` with the
    InstructPix2Pix ``model``.

    ``options``: the representation's own settings (``style_options``, e.g. which splat parameters train; None:
    its defaults). ``edit_options``: ``steps``, ``guidance_scale``, ``image_guidance_scale`` of each edit. Returns
    the result (as :func:`stylize3d.stylize.stylize_scene`'s; its ``scene`` is the edited scene) and the dataset
    update (its ``history`` lists the edits).
    """
    from core.priors.instruct import instruct_edit_from

    config = replace(config, color_transfer=False)
    config.validate()
    edit.validate()
    task, originals = representation_of(scene).edit_task(scene, cameras, config, options)
    generator = torch.Generator(model.device).manual_seed(config.seed)

    def editor(render: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        return instruct_edit_from(model, render, original, instruction, t_range=tuple(edit.edit_noise),
                                  generator=generator, **(edit_options or {}))

    update = DatasetUpdate([originals[i:i + 1] for i in range(len(cameras))], editor, every=edit.edit_every,
                           views_per_update=edit.edits_per_update, schedule=edit.edit_schedule)
    term = DatasetUpdateTerm(update, task.render, edit.edit_weight, state_path)
    if resume:
        term.resume()
    result = stylize(task, NoObjective(), config.loop, [term], checkpoint=checkpoint, resume=resume,
                     progress=progress, desc="editing scene", seed=config.seed)
    return task.result(result), update
