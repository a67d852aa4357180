"""Text-driven editing of a 3D scene (Instruct-GS2GS for Gaussian splats, Instruct-NeRF2NeRF for radiance fields)
on core's driver.

The scene is optimised toward per-view targets that start as its own renders and are re-edited, a few views
every K steps, by InstructPix2Pix from the current render conditioned on the original render
(:class:`core.priors.dataset_update.DatasetUpdate`, editor :func:`core.priors.instruct.instruct_edit_from`).
The loss per step is the L1 distance to the current target of the trained view
(:class:`core.priors.dataset_update.DatasetUpdateTerm`) plus the representation's task regularisers (image TV;
geometry pulls for splats); there is no style picture, so no style or content term and no colour transfer.
Both representations go through the same update and term; only the task differs: splats train what
``--optimize`` says (:class:`~stylize3d.stylize.SplatStyleTask`), radiance fields their colour grid at SH degree 0
with the density frozen (:class:`~stylize3d.fields.stylize.FieldStyleTask`, deferred back-propagation), so a field
edit changes colours, not shapes.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Tuple

import torch

from core.errors import ConfigError, InputError
from core.optimize import Checkpoint
from core.priors.dataset_update import SCHEDULES, DatasetUpdate, DatasetUpdateTerm
from core.priors.model import DiffusionModel
from core.stylization import stylize
from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField
from stylize3d.representations import Scene
from stylize3d.splats.render import render_all
from stylize3d.stylize import BACKGROUND, SceneStyleConfig, SceneStyleResult, SplatStyleTask


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


def edit_task(scene: Scene, cameras: Cameras, config: SceneStyleConfig
              ) -> "tuple[object, torch.Tensor, Callable[[object], object]]":
    """The driver task that edits ``scene``, its starting renders ``N,3,H,W`` in [0,1] (on the scene's device, at
    ``config.size``: the originals the edits are conditioned on) and ``finish(stylization) -> result`` (the edited
    scene in a :class:`SceneStyleResult` / :class:`~stylize3d.fields.stylize.FieldStyleResult`)."""
    width, height = cameras.size_for(config.size)
    if isinstance(scene, RadianceField):
        from stylize3d.fields.render import render_field
        from stylize3d.fields.stylize import FieldStyleResult, FieldStyleTask, to_degree0

        start = to_degree0(scene)
        with torch.no_grad():
            originals = render_field(start, cameras, width, height, start.background or BACKGROUND).rgb
        task = FieldStyleTask(start, cameras, originals.clamp(0.0, 1.0), None, config, [])
        return task, task.originals, lambda stylization: FieldStyleResult(task.field().detached_clone(),
                                                                          stylization, [])
    degree = scene.sh_degree if config.sh_degree is None else min(config.sh_degree, scene.sh_degree)
    originals = render_all(scene, cameras, width, height, BACKGROUND, degree).rgb.to(scene.device)
    task = SplatStyleTask(scene.detached_clone(), cameras, originals, None, config, [])
    return task, originals, lambda stylization: SceneStyleResult(task.scene().detached_clone(), stylization, [])


def instruct_scene(scene: Scene, cameras: Cameras, model: DiffusionModel,
                   instruction: str, config: SceneStyleConfig, edit: EditConfig, *,
                   edit_options: Optional[dict] = None, checkpoint: Optional[Checkpoint] = None,
                   resume: bool = False, progress: bool = True, state_path: "str | Path | None" = None
                   ) -> "tuple[SceneStyleResult, DatasetUpdate]":
    """Edit ``scene`` (Gaussian splats or a radiance field) seen from ``cameras`` by ``instruction`` with the
    InstructPix2Pix ``model``.

    ``edit_options``: ``steps``, ``guidance_scale``, ``image_guidance_scale`` of each edit. Returns the result
    (as :func:`stylize3d.stylize.stylize_scene`'s or :func:`stylize3d.fields.stylize.stylize_field`'s; its
    ``scene`` is the edited scene) and the dataset update (its ``history`` lists the edits).
    """
    from core.priors.instruct import instruct_edit_from

    config = replace(config, color_transfer=False)
    config.validate()
    edit.validate()
    task, originals, finish = edit_task(scene, cameras, config)
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
    return finish(result), update


def add_scene_instruct_options(parser) -> None:
    """``stylize scene``'s ``--instruct`` options (``--model`` is the SDS group's, here an InstructPix2Pix folder)."""
    from core.cli import add_config_options
    from core.priors.instruct_cli import add_instruct_options

    add_instruct_options(parser, guidance=True)
    add_config_options(parser, EditConfig, group="instruct: dataset update (Instruct-NeRF2NeRF / GS2GS)")


def run_instruct_scene(job, config: SceneStyleConfig, out_dir: Path, ply_out: Path) -> int:
    """``stylize scene SCENE --instruct TEXT --model IP2P -o OUT`` inside :func:`core.cli.run_job`."""
    from core.cli import config_from_args
    from core.priors.instruct_cli import edit_options, load_instruct_model
    from stylize3d.cli import _load_scene, _training_cameras, write_scene_results

    args, report = job.args, job.report
    if args.style:
        raise InputError("--instruct edits by text; give no STYLE_IMAGE")
    if args.prompt:
        raise InputError("--instruct and --prompt (SDS) do not combine; --model is the InstructPix2Pix folder")
    edit = config_from_args(EditConfig, args)
    edit.validate()
    with report.phase("load"):
        scene, run_cameras = _load_scene(args.scene, job.device)
        cameras = _training_cameras(args, scene, run_cameras)
        model = load_instruct_model(args, job.device)
    report.inputs = [args.scene, args.model] + ([args.cameras] if args.cameras else [])
    options = {k: v for k, v in edit_options(args).items() if k != "seed"}
    checkpoint = job.checkpoint(out_dir / ".stylize3d_checkpoint.pt", every=args.checkpoint_every, meta={
        "scene": str(Path(args.scene).resolve()), "instruct": args.instruct, "model": str(args.model),
        "cameras": args.cameras, "orbit": args.orbit, "config": repr(config), "edit": repr(edit), "options": options})
    with report.phase("edit"):
        result, update = instruct_scene(scene, cameras, model, args.instruct, config, edit, edit_options=options,
                                        checkpoint=checkpoint, resume=job.resume, progress=job.progress,
                                        state_path=out_dir / ".instruct_targets.pt")
    code = write_scene_results(job, scene, result, cameras, config.size, ply_out,
                               {"edits": [list(e) for e in update.history]})
    if not result.stylization.interrupted:
        (out_dir / ".instruct_targets.pt").unlink(missing_ok=True)
    return code
