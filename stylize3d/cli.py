"""``stylize scene``, ``stylize render`` and ``stylize metrics-3d`` for every 3D representation (Gaussian splats,
radiance fields, training runs; :mod:`stylize3d.representations`). The other 3D commands (``capture``, ``fit``,
``export``, ``view``) register beside what they run; :mod:`stylize3d.commands` lists them all."""

from __future__ import annotations

import json
from pathlib import Path

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.config import replace_fields
from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.sds_cli import add_sds_options, sds_term
from stylize3d.commands import COMMANDS
from stylize3d.consistency import warp_rmse
from stylize3d.instruct_cli import add_scene_instruct_options, run_instruct_scene
from stylize3d.representations import load_scene, render_scene_all, representation_for_path, representations
from stylize3d.scene_args import (add_dataparser_option, add_path_options, camera_path, training_cameras,
                                  video_size)
from stylize3d.scene_outputs import write_scene_results
from stylize3d.scene_style import SceneStyleConfig
from stylize3d.stylize import stylize_scene
from stylize3d.video import write_frames

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".gif")
SCENE_HELP = ("3D scene: Gaussian splats (a 3DGS .ply, a nerfstudio splatfacto run: config.yml or its folder, an "
              "original 3DGS output folder, a gsplat simple_trainer result ckpts/ckpt_*_rank0.pt) or a radiance "
              "field (.safetensors from stylize fit --model field)")


def register_scene(subparsers) -> None:
    p = add_command(subparsers, "scene", COMMANDS["scene"].help,
                    description="Stylize SCENE after STYLE_IMAGE and write OUTDIR/<name>_stylized.ply (a radiance "
                                "field: <name>_stylized.safetensors), "
                                "preview PNGs, orbit.mp4, side_by_side.mp4 and report.json. With --instruct TEXT "
                                "--model IP2P_FOLDER instead of STYLE_IMAGE the scene (splats or a radiance field) is "
                                "edited by text: the iterative dataset update of Instruct-NeRF2NeRF / Instruct-GS2GS."
                                "\n\nexample: stylize "
                                "scene scenes/splats/sample_scene.ply scenes/images/starry_night.jpg -o out/scene "
                                "--cameras scenes/splats/transforms.json --steps 150")
    p.add_argument("scene", metavar="SCENE", help=SCENE_HELP)
    p.add_argument("style", metavar="STYLE_IMAGE", nargs="?", default=None,
                   help="style image (any common image format); none with --instruct")
    p.add_argument("-o", "--output", metavar="OUTDIR", default=None,
                   help="output folder (created; default: stylized/SCENE_STYLE in the current folder, SCENE_instruct "
                        "with --instruct)")
    views = p.add_mutually_exclusive_group()
    views.add_argument("--cameras", metavar="DATA", default=None,
                       help="training cameras of the capture: transforms.json or a data/run folder (default: the "
                            "run's own when SCENE is a training run)")
    views.add_argument("--orbit", type=int, metavar="N", default=None,
                       help="train on N views on an orbit fitted to the scene (default 24 when no --cameras)")
    add_dataparser_option(p)
    p.add_argument("--downscale", type=float, default=1.0, help="downscale factor for --cameras intrinsics")
    p.add_argument("--video-frames", type=int, default=48, help="frames of orbit.mp4 and side_by_side.mp4 (0: none)")
    p.add_argument("--fps", type=float, default=24.0, help="frame rate of the written videos")
    p.add_argument("--checkpoint-every", type=int, default=25, help="steps between checkpoints")
    add_common_options(p, resumable=True)
    add_config_options(p, SceneStyleConfig)
    for rep in representations().values():
        if rep.style_options is not None:
            add_config_options(p, rep.style_options, group=f"{rep.name} only")
    add_sds_options(p)
    add_scene_instruct_options(p)
    p.set_defaults(func=run_scene)


def register_render(subparsers) -> None:
    p = add_command(subparsers, "render", COMMANDS["render"].help,
                    description="Render SCENE (splats or a radiance field) along a camera path into OUT (.mp4 H.264 or .gif).\n\n"
                                "example: stylize render scenes/splats/sample_scene.ply -o orbit.mp4 --frames 96")
    p.add_argument("scene", metavar="SCENE", help=SCENE_HELP)
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output video (.mp4/.mov/.mkv/.gif)")
    add_path_options(p, default_frames=96)
    p.add_argument("--fps", type=float, default=24.0, help="frame rate of the written videos")
    p.add_argument("--sh-degree", type=int, default=None, help="SH degree used for rendering (default: the scene's)")
    p.add_argument("--background", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("R", "G", "B"),
                   help="background colour, each channel in [0, 1]")
    p.add_argument("--save-path", metavar="FILE.json", default=None, help="also write the camera path as JSON")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_render)


BASELINES = ("none", "per-view")


def register_metrics(subparsers) -> None:
    p = add_command(subparsers, "metrics-3d", COMMANDS["metrics-3d"].help,
                    description="Render both scenes along a camera path, warp frame t+k into frame t with the "
                                "rendered depth and known cameras, mask occlusions by a depth test, and report the "
                                "masked RMSE for k=1 and k=7. With --style also the style distance and the same "
                                "RMSEs of the colour-transfer-only scene (the stylization recipe with 0 steps: "
                                "the palette without texture) and the stylized scene's ratios to them; with "
                                "--baseline per-view also of the 2D baseline: every frame of the original "
                                "stylized on its own in 2D with the same loss and steps (give the flags the 3D "
                                "stylization had, as for stylize scene; --size is the frames' size), and the "
                                "stylized scene's ratios to it.\n\nexample: stylize metrics-3d field.safetensors "
                                "out/field/field_stylized.safetensors --style scenes/images/starry_night.jpg "
                                "--baseline per-view --steps 150")
    p.add_argument("original", metavar="ORIGINAL", help="the scene before stylization (any SCENE that stylize scene takes)")
    p.add_argument("stylized", metavar="STYLIZED", help="the stylized scene (same representation and geometry)")
    add_path_options(p, default_frames=32)
    p.add_argument("--style", metavar="STYLE_IMAGE", default=None,
                   help="style image: the style distance and the colour-transfer-only baseline")
    p.add_argument("--long-range", type=int, default=7, help="frame gap k of the long-range score")
    p.add_argument("--baseline", choices=BASELINES, default="none",
                   help="per-view: also stylize each frame of ORIGINAL independently in 2D (needs --style)")
    add_common_options(p, seed=False)
    add_config_options(p, SceneStyleConfig, group="the stylization's settings (colour-transfer-only and per-view "
                                                  "baselines; as for stylize scene)")
    p.set_defaults(func=run_metrics)


# ----------------------------------------------------------------------------------------------- helpers


def _check_video_output(path: Path) -> None:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"output {path} must end in one of {', '.join(VIDEO_SUFFIXES)}")


# ----------------------------------------------------------------------------------------------- commands


def run_render(args) -> int:
    output = Path(args.output)
    _check_video_output(output)
    refuse_overwriting_inputs(output, [args.scene, args.cameras])
    if args.frames < 2:
        raise InputError(f"--frames must be at least 2, got {args.frames}")
    return run_job(args, "render", lambda job: _render(job, output))


def _render(job, output: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        scene, run_cameras = load_scene(args.scene, job.device)
        path, indices = camera_path(args, scene, args.size, run_cameras, args.scene)
        width, height = video_size(path, args.size)
    with report.phase("render"):
        frames = render_scene_all(scene, path, width, height, tuple(args.background), args.sh_degree, args.backend)
        write_frames(frames.rgb, output, width, height, args.fps)
    outputs = [str(output)]
    if indices is not None:
        outputs += _write_camera_pngs(frames.rgb, indices, output.parent / f"{output.stem}_frames")
    if args.save_path:
        from stylize3d.camera_paths import write_camera_path

        write_camera_path(path.scaled_to(width, height), args.save_path)
        outputs.append(args.save_path)
    report.inputs = [args.scene] + ([args.cameras] if args.cameras else [])
    report.outputs = outputs
    report.sizes = {"gaussians": getattr(scene, "num_gaussians", None), "frames": len(path), "width": width, "height": height}
    return 0


def _write_camera_pngs(rgb, indices: list, folder: Path) -> list:
    """``camera_<i>.png`` for every frame of ``rgb`` (N,3,H,W in [0,1]), ``i`` its camera's index in the dataset."""
    paths = [folder / f"camera_{i:04d}.png" for i in indices]
    for image, path in zip(rgb, paths):
        save_image(image[None], path)
    return [str(p) for p in paths]


def run_scene(args) -> int:
    representation = representation_for_path(args.scene)
    name = representation.scene_name(args.scene)
    if args.output is None:
        args.output = str(Path("stylized") / f"{name}_{Path(args.style).stem if args.style else 'instruct'}")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} exists and is not a folder")
    scene_out = out_dir / f"{name}_stylized{representation.suffix}"
    refuse_overwriting_inputs(scene_out, [args.scene, args.style])
    if args.video_frames and args.video_frames < 2:
        raise InputError("--video-frames must be 0 or at least 2")
    config = config_from_args(SceneStyleConfig, args)
    config.validate()
    options = config_from_args(representation.style_options, args) if representation.style_options else None
    if options is not None:
        options.validate()
    if args.instruct:
        return run_job(args, "scene", lambda job: run_instruct_scene(job, config, options, out_dir, scene_out))
    if not args.style:
        raise InputError("give a STYLE_IMAGE, or --instruct TEXT with --model IP2P_FOLDER")
    return run_job(args, "scene", lambda job: _stylize_scene(job, config, options, out_dir, scene_out))


def _stylize_scene(job, config: SceneStyleConfig, options, out_dir: Path, scene_out: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        style = load_image(args.style, long_side=config.size, device=job.device)
        scene, run_cameras = load_scene(args.scene, job.device)
        cameras = training_cameras(args, scene, run_cameras)
        sds = sds_term(args, job.device)
    report.inputs = [args.scene, args.style] + ([args.cameras] if args.cameras else [])
    meta = {"scene": str(Path(args.scene).resolve()), "style": str(Path(args.style).resolve()),
            "cameras": args.cameras, "orbit": args.orbit, "config": repr(config), "options": repr(options),
            "prompt": args.prompt, **representation_for_path(args.scene).checkpoint_meta()}
    checkpoint = job.checkpoint(out_dir / ".stylize3d_checkpoint.pt", every=args.checkpoint_every, meta=meta)
    with report.phase("stylize"):
        result = stylize_scene(scene, style, cameras, config=config, options=options, checkpoint=checkpoint,
                               resume=job.resume, progress=job.progress, terms=[sds] if sds else ())
    colour_maps = [{"A": a.tolist(), "b": b.tolist()} for a, b in result.colour_maps]
    return write_scene_results(job, scene, result, cameras, config.size, scene_out, {"colour_maps": colour_maps},
                               " (no final colour transfer, no videos)")


def run_metrics(args) -> int:
    if args.frames <= args.long_range:
        raise InputError(f"--frames ({args.frames}) must exceed --long-range ({args.long_range})")
    if args.baseline == "per-view" and not args.style:
        raise InputError("--baseline per-view stylizes the frames after a picture: give --style STYLE_IMAGE")
    config = config_from_args(SceneStyleConfig, args)
    config.validate()
    return run_job(args, "metrics-3d", lambda job: _metrics(job, config))


def _metrics(job, config: SceneStyleConfig) -> int:
    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        original, run_cameras = load_scene(args.original, device)
        stylized = load_scene(args.stylized, device)[0]
        style = load_image(args.style, long_side=256, device=device) if args.style else None
        path = camera_path(args, original, args.size, run_cameras, args.original)[0]
        width, height = video_size(path, args.size)
        path = path.scaled_to(width, height)
    gaps = (("short_range_k1", 1), ("long_range_k%d" % args.long_range, args.long_range))
    metrics, renders = {}, {}

    def score(name: str, rgb, geometry) -> None:
        for label, k in gaps:
            result = warp_rmse(rgb, *geometry, path, k)
            metrics[f"{name}_{label}_rmse"] = result.rmse
            metrics[f"{name}_{label}_valid_fraction"] = result.valid_fraction

    scenes = [("original", original), ("stylized", stylized)]
    if style is not None:
        with report.phase("colour_transfer_scene"):
            style_at_size = load_image(args.style, long_side=config.size, device=device)
            zero_steps = replace_fields(config, steps=0)
            scenes.append(("colour_transfer", stylize_scene(original, style_at_size, path, config=zero_steps,
                                                            progress=False).scene))
    for name, scene in scenes:
        with report.phase(f"render_{name}"):
            renders[name] = render_scene_all(scene, path, width, height, backend=args.backend)
        score(name, renders[name].rgb, (renders[name].depth, renders[name].alpha))
    if style is not None:
        from core.metrics import style_distance

        rgb = renders["stylized"].rgb
        picks = range(0, len(path), max(1, len(path) // 8))
        metrics["stylized_style_distance"] = sum(style_distance(rgb[i:i + 1].to(device), style)
                                                 for i in picks) / len(picks)
    baselines = ["colour_transfer"] if style is not None else []
    if args.baseline == "per-view":
        from stylize3d.per_view import stylize_per_view

        with report.phase("per_view_baseline"):
            frames = renders["original"]
            per_view = stylize_per_view(frames.rgb, frames.alpha, style_at_size, config, progress=job.progress)
        score("per_view", per_view, (frames.depth, frames.alpha))  # 2D stylizations have no depth: the original's
        metrics["per_view_settings"] = {"steps": config.loop.steps, "loss": config.loss.kind, "lr": config.loop.lr,
                                        "optimizer": config.loop.optimizer, "size": config.size,
                                        "color_transfer": config.color_transfer}
        baselines.append("per_view")
    for baseline in baselines:
        for label, _ in gaps:
            below = metrics[f"{baseline}_{label}_rmse"]
            metrics[f"stylized_to_{baseline}_{label}"] = (metrics[f"stylized_{label}_rmse"] / below if below > 0
                                                         else float("nan"))
    report.inputs = [args.original, args.stylized] + ([args.style] if args.style else [])
    report.metrics = metrics
    report.sizes = {"frames": len(path), "width": width, "height": height}
    print(json.dumps(metrics, indent=1))
    return 0
