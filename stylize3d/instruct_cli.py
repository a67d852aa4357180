"""``stylize scene SCENE --instruct TEXT --model IP2P_FOLDER``: the command glue of the text edit
(:mod:`stylize3d.instruct` is the library), for every representation."""

from __future__ import annotations

from pathlib import Path

from core.cli import add_config_options, config_from_args
from core.errors import InputError
from core.priors.instruct_cli import add_instruct_options, edit_options, load_instruct_model
from stylize3d.instruct import EditConfig, instruct_scene
from stylize3d.representations import load_scene
from stylize3d.scene_args import training_cameras
from stylize3d.scene_outputs import write_scene_results
from stylize3d.scene_style import SceneStyleConfig


def add_scene_instruct_options(parser) -> None:
    """``stylize scene``'s ``--instruct`` options (``--model`` is the SDS group's, here an InstructPix2Pix folder)."""
    add_instruct_options(parser, guidance=True)
    add_config_options(parser, EditConfig, group="instruct: dataset update (Instruct-NeRF2NeRF / GS2GS)")


def run_instruct_scene(job, config: SceneStyleConfig, options, out_dir: Path, scene_out: Path) -> int:
    """``stylize scene SCENE --instruct TEXT --model IP2P -o OUT`` inside :func:`core.cli.run_job`; ``options``:
    the scene representation's own settings (or None)."""
    args, report = job.args, job.report
    if args.style:
        raise InputError("--instruct edits by text; give no STYLE_IMAGE")
    if args.prompt:
        raise InputError("--instruct and --prompt (SDS) do not combine; --model is the InstructPix2Pix folder")
    edit = config_from_args(EditConfig, args)
    edit.validate()
    with report.phase("load"):
        scene, run_cameras = load_scene(args.scene, job.device)
        cameras = training_cameras(args, scene, run_cameras)
        model = load_instruct_model(args, job.device)
    report.inputs = [args.scene, args.model] + ([args.cameras] if args.cameras else [])
    edit_settings = {k: v for k, v in edit_options(args).items() if k != "seed"}
    checkpoint = job.checkpoint(out_dir / ".stylize3d_checkpoint.pt", every=args.checkpoint_every, meta={
        "scene": str(Path(args.scene).resolve()), "instruct": args.instruct, "model": str(args.model),
        "cameras": args.cameras, "orbit": args.orbit, "config": repr(config), "options": repr(options),
        "edit": repr(edit), "edit_options": edit_settings})
    with report.phase("edit"):
        result, update = instruct_scene(scene, cameras, model, args.instruct, config, edit, options=options,
                                        edit_options=edit_settings, checkpoint=checkpoint, resume=job.resume,
                                        progress=job.progress, state_path=out_dir / ".instruct_targets.pt")
    code = write_scene_results(job, scene, result, cameras, config.size, scene_out,
                               {"edits": [list(e) for e in update.history]})
    if not result.stylization.interrupted:
        (out_dir / ".instruct_targets.pt").unlink(missing_ok=True)
    return code
