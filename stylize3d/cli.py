"""``stylize scene``, ``stylize render`` and ``stylize metrics-3d``: the splat front end's commands."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from core.atomic import refuse_overwriting_inputs
from core.cli import add_command, add_common_options, add_config_options, config_from_args, run_job
from core.errors import InputError
from core.io.images import load_image, save_image
from core.priors.sds_cli import add_sds_options, sds_term
from stylize3d.camera_paths import PATH_KINDS, path_around, read_camera_path
from stylize3d.cameras import Cameras
from stylize3d.consistency import warp_rmse
from stylize3d.datasets.runs import SPLITS, load_camera_source, scene_name
from stylize3d.fields.grid import RadianceField, is_field_file
from stylize3d.fields.stylize import LEAF_SCALE, stylize_field
from stylize3d.splats.render import BACKENDS
from stylize3d.representations import load_scene, save_scene
from stylize3d.representations import render_scene_all as render_all  # splats and radiance fields alike
from stylize3d.splats.scene import GaussianScene
from stylize3d.instruct import add_scene_instruct_options, run_instruct_scene
from stylize3d.stylize import SceneStyleConfig, stylize_scene
from stylize3d.video import write_frames
from stylize3d.viewer.cli import register as register_view

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".gif")
PREVIEW_VIEWS = 4
SCENE_HELP = ("3D Gaussian Splatting scene: a 3DGS .ply, a nerfstudio splatfacto run (config.yml or its folder), "
              "an original 3DGS output folder or a gsplat simple_trainer result (ckpts/ckpt_*_rank0.pt)")


def register(subparsers) -> None:
    _register_scene(subparsers)
    _register_render(subparsers)
    _register_metrics(subparsers)
    from stylize3d import fit_cli
    from stylize3d.capture.cli import register as register_capture

    register_capture(subparsers)
    fit_cli.register(subparsers)
    register_view(subparsers)


def _add_path_options(p, default_frames: int) -> None:
    p.add_argument("--path", default="orbit", help=f"camera path: {' or '.join(PATH_KINDS)} (fitted to --cameras when "
                   "given, else to the scene), 'cameras' (exactly the dataset's cameras, also written as "
                   "<OUT stem>_frames/camera_<i>.png beside the video) or a camera-path .json file (written by "
                   "--save-path, or a nerfstudio viewer camera_path.json)")
    p.add_argument("--cameras", metavar="DATA", default=None,
                   help="cameras of the capture: transforms.json, or a nerfstudio/Blender/3DGS data or run folder "
                        "(used to fit the path; default: the run's own when SCENE is a training run)")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="with --path cameras: only the training or the held-out cameras (default: all)")
    _add_dataparser_option(p)
    p.add_argument("--frames", type=int, default=default_frames, help="frames of the camera path")
    p.add_argument("--size", type=int, default=256, help="long side of the rendered frames in pixels")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="renderer: torch, gsplat (CUDA) or auto")
    p.add_argument("--elevation", type=float, default=None, metavar="DEG",
                   help="camera elevation above the centre in degrees (default: fitted; 25 without --cameras)")
    p.add_argument("--up", type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
                   help="world up direction for paths fitted to the scene (default +z; from --cameras when given)")


def _add_dataparser_option(p) -> None:
    p.add_argument("--dataparser-transforms", metavar="dataparser_transforms.json", default=None,
                   help="nerfstudio's dataparser_transforms.json of the run that trained SCENE: moves --cameras into "
                        "the frame its exported splats use")


def _load_cameras(args, downscale: float = 1.0) -> Cameras:
    """``--cameras``, moved by ``--dataparser-transforms`` when given."""
    return load_camera_source(args.cameras, downscale=downscale, dataparser=args.dataparser_transforms)[0]


def _check_dataparser_needs_cameras(args) -> None:
    if args.dataparser_transforms and not args.cameras:
        raise InputError("--dataparser-transforms moves the --cameras poses: give --cameras too")


def _register_scene(subparsers) -> None:
    p = add_command(subparsers, "scene", "stylize a 3D scene (splats, radiance field, nerfstudio/3DGS run) after a picture",
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
    _add_dataparser_option(p)
    p.add_argument("--downscale", type=float, default=1.0, help="downscale factor for --cameras intrinsics")
    p.add_argument("--video-frames", type=int, default=48, help="frames of orbit.mp4 and side_by_side.mp4 (0: none)")
    p.add_argument("--fps", type=float, default=24.0, help="frame rate of the written videos")
    p.add_argument("--checkpoint-every", type=int, default=25, help="steps between checkpoints")
    add_common_options(p, resumable=True)
    add_config_options(p, SceneStyleConfig)
    add_sds_options(p)
    add_scene_instruct_options(p)
    p.set_defaults(func=run_scene)


def _register_render(subparsers) -> None:
    p = add_command(subparsers, "render", "render a 3D scene (splats or radiance field) along a camera path to a video",
                    description="Render SCENE.ply along a camera path into OUT (.mp4 H.264 or .gif).\n\n"
                                "example: stylize render scenes/splats/sample_scene.ply -o orbit.mp4 --frames 96")
    p.add_argument("scene", metavar="SCENE", help=SCENE_HELP)
    p.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output video (.mp4/.mov/.mkv/.gif)")
    _add_path_options(p, default_frames=96)
    p.add_argument("--fps", type=float, default=24.0, help="frame rate of the written videos")
    p.add_argument("--sh-degree", type=int, default=None, help="SH degree used for rendering (default: the scene's)")
    p.add_argument("--background", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("R", "G", "B"),
                   help="background colour, each channel in [0, 1]")
    p.add_argument("--save-path", metavar="FILE.json", default=None, help="also write the camera path as JSON")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_render)


def _register_metrics(subparsers) -> None:
    p = add_command(subparsers, "metrics-3d", "view consistency (reprojection RMSE) of an original and a stylized scene",
                    description="Render both scenes along a camera path, warp frame t+k into frame t with the "
                                "rendered depth and known cameras, mask occlusions by a depth test, and report the "
                                "masked RMSE for k=1 and k=7 (and the style distance with --style).")
    p.add_argument("original", metavar="ORIGINAL", help="the scene before stylization (.ply or training run folder)")
    p.add_argument("stylized", metavar="STYLIZED.ply", help="the stylized scene (same Gaussians)")
    _add_path_options(p, default_frames=32)
    p.add_argument("--style", metavar="STYLE_IMAGE", default=None, help="style image for the style distance")
    p.add_argument("--long-range", type=int, default=7, help="frame gap k of the long-range score")
    add_common_options(p, seed=False)
    p.set_defaults(func=run_metrics)


# ----------------------------------------------------------------------------------------------- helpers


def _load_scene(path: str, device: torch.device) -> tuple:
    """The scene (splats or a radiance field) and, for a training run, its training cameras (else None)."""
    return load_scene(path, device)


def _video_size(cameras: Cameras, long_side: int) -> tuple[int, int]:
    if long_side < 16:
        raise InputError(f"--size {long_side} is too small; use at least 16")
    return cameras.size_for(long_side, even=True)


def _camera_path(args, scene: GaussianScene, size: int, run_cameras: "Cameras | None" = None,
                 scene_path: "str | None" = None) -> tuple[Cameras, "list | None"]:
    """The camera path of ``--path`` (a kind, ``cameras`` or a JSON file), fitted to ``--cameras`` when given, else
    to the run's training cameras ``run_cameras`` when SCENE (at ``scene_path``) is a training run; with the
    cameras' dataset indices for ``--path cameras`` (else None)."""
    _check_dataparser_needs_cameras(args)
    if args.split and args.path != "cameras":
        raise InputError("--split selects dataset cameras: use it with --path cameras")
    if args.path == "cameras":
        return _dataset_cameras(args, run_cameras, scene_path)
    if args.path.endswith(".json"):
        return read_camera_path(args.path), None
    up = torch.tensor(args.up, dtype=torch.float64) if args.up else None
    if up is not None and not (torch.isfinite(up).all() and up.norm() > 0):
        raise InputError("--up must be a finite, non-zero direction")
    if args.cameras or run_cameras is not None:
        train = _load_cameras(args) if args.cameras else run_cameras
        return path_around(args.path, args.frames, *_video_size(train, size), cameras=train, up=up,
                           elevation_deg=args.elevation), None
    return path_around(args.path, args.frames, size, size, scene=scene, up=up, elevation_deg=args.elevation), None


def _dataset_cameras(args, run_cameras: "Cameras | None", scene_path: "str | None") -> tuple[Cameras, list]:
    """``--path cameras``: the cameras of ``--cameras`` (its ``--split``), else those of the training run at
    ``scene_path`` (``run_cameras``, or its ``--split``), and their dataset indices."""
    if args.cameras:
        return load_camera_source(args.cameras, split=args.split, dataparser=args.dataparser_transforms)
    if run_cameras is None:
        raise InputError("--path cameras needs --cameras DATA (SCENE is not a training run with cameras)")
    if args.split is None:
        return run_cameras, list(range(len(run_cameras)))
    return load_camera_source(scene_path, split=args.split)


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
        scene, run_cameras = _load_scene(args.scene, job.device)
        path, indices = _camera_path(args, scene, args.size, run_cameras, args.scene)
        width, height = _video_size(path, args.size)
    with report.phase("render"):
        frames = render_all(scene, path, width, height, tuple(args.background), args.sh_degree, args.backend)
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


def _training_cameras(args, scene: GaussianScene, run_cameras: "Cameras | None" = None) -> Cameras:
    _check_dataparser_needs_cameras(args)
    if args.cameras:
        return _load_cameras(args, downscale=args.downscale)
    if run_cameras is not None and args.orbit is None:
        return run_cameras
    views = 24 if args.orbit is None else args.orbit
    if views < 2:
        raise InputError(f"--orbit needs at least 2 views, got {views}")
    return path_around("orbit", views, args.size, args.size, scene=scene)


def run_scene(args) -> int:
    field = is_field_file(args.scene)
    name = Path(args.scene).stem if field else scene_name(args.scene)
    if args.output is None:
        args.output = str(Path("stylized") / f"{name}_{Path(args.style).stem if args.style else 'instruct'}")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} exists and is not a folder")
    ply_out = out_dir / f"{name}_stylized{Path(args.scene).suffix.lower() if field else '.ply'}"
    refuse_overwriting_inputs(ply_out, [args.scene, args.style])
    if args.video_frames and args.video_frames < 2:
        raise InputError("--video-frames must be 0 or at least 2")
    config = config_from_args(SceneStyleConfig, args)
    config.validate()
    if args.instruct:
        return run_job(args, "scene", lambda job: run_instruct_scene(job, config, out_dir, ply_out))
    if not args.style:
        raise InputError("give a STYLE_IMAGE, or --instruct TEXT with --model IP2P_FOLDER")
    return run_job(args, "scene", lambda job: _stylize_scene(job, config, out_dir, ply_out))


def _stylize_scene(job, config: SceneStyleConfig, out_dir: Path, ply_out: Path) -> int:
    args, report = job.args, job.report
    with report.phase("load"):
        style = load_image(args.style, long_side=config.size, device=job.device)
        scene, run_cameras = _load_scene(args.scene, job.device)
        cameras = _training_cameras(args, scene, run_cameras)
        sds = sds_term(args, job.device)
    report.inputs = [args.scene, args.style] + ([args.cameras] if args.cameras else [])
    meta = {"scene": str(Path(args.scene).resolve()), "style": str(Path(args.style).resolve()),
            "cameras": args.cameras, "orbit": args.orbit, "config": repr(config), "prompt": args.prompt}
    if isinstance(scene, RadianceField):  # the parameters saved are colour / LEAF_SCALE
        meta["field_leaf_scale"] = LEAF_SCALE
    checkpoint = job.checkpoint(out_dir / ".stylize3d_checkpoint.pt", every=args.checkpoint_every, meta=meta)
    with report.phase("stylize"):
        stylize_any = stylize_field if isinstance(scene, RadianceField) else stylize_scene
        result = stylize_any(scene, cameras, style, config, checkpoint=checkpoint, resume=job.resume,
                             progress=job.progress, terms=[sds] if sds else ())
    colour_maps = [{"A": a.tolist(), "b": b.tolist()} for a, b in result.colour_maps]
    return write_scene_results(job, scene, result, cameras, config.size, ply_out, {"colour_maps": colour_maps},
                               " (no final colour transfer, no videos)")


def write_scene_results(job, original, result, cameras: Cameras, train_size: int, ply_out: Path, metrics: dict,
                        interrupted_note: str = "") -> int:
    """The end of ``stylize scene`` (by style picture or by ``--instruct``): write the stylized scene to ``ply_out``,
    previews beside it unless the run was interrupted, and ``report.json`` with the shared figures plus ``metrics``;
    return the command's exit code."""
    args, report, out_dir = job.args, job.report, ply_out.parent
    interrupted = result.stylization.interrupted
    with report.phase("write_ply"):
        save_scene(result.scene, ply_out)
    outputs = [str(ply_out)]
    if not interrupted:
        with report.phase("previews"):
            outputs += _write_previews(original, result.scene, cameras, out_dir, args)
    report_path = out_dir / "report.json"
    report.outputs = outputs + [str(report_path)]
    report.set_steps(result.optimization.steps_done, result.optimization.seconds)
    report.sizes = {"gaussians": getattr(original, "num_gaussians", None), "training_views": len(cameras),
                    "train_size": train_size}
    report.metrics = {"initial": result.stylization.initial, "final": result.stylization.final,
                      "interrupted": interrupted, **metrics,
                      "loss_history": [h.get("total") for h in result.optimization.history]}
    report.write(report_path)
    if interrupted:
        return job.interrupted(f"wrote the scene as of the last step to {ply_out}{interrupted_note}")
    return 0


def _write_previews(original: GaussianScene, stylized: GaussianScene, cameras: Cameras, out_dir: Path, args) -> list:
    """Preview PNGs (original | stylized) of a few views, ``orbit.mp4`` and ``side_by_side.mp4``."""
    outputs = []
    picks = torch.linspace(0, len(cameras) - 1, min(PREVIEW_VIEWS, len(cameras))).round().long().tolist()
    width, height = _video_size(cameras, args.size)
    before = render_all(original, cameras[picks], width, height).rgb
    after = render_all(stylized, cameras[picks], width, height).rgb
    for n in range(len(picks)):
        path = out_dir / "views" / f"view_{n:02d}.png"
        save_image(torch.cat([before[n], after[n]], dim=2), path)
        outputs.append(str(path))
    if args.video_frames:
        path = path_around("orbit", args.video_frames, width, height, cameras=cameras)
        before = render_all(original, path, width, height).rgb
        after = render_all(stylized, path, width, height).rgb
        write_frames(after, out_dir / "orbit.mp4", width, height, args.fps)
        write_frames(torch.cat([before, after], dim=3), out_dir / "side_by_side.mp4", 2 * width, height, args.fps)
        outputs += [str(out_dir / "orbit.mp4"), str(out_dir / "side_by_side.mp4")]
    return outputs


def run_metrics(args) -> int:
    if args.frames <= args.long_range:
        raise InputError(f"--frames ({args.frames}) must exceed --long-range ({args.long_range})")
    return run_job(args, "metrics-3d", _metrics)


def _metrics(job) -> int:
    args, report, device = job.args, job.report, job.device
    with report.phase("load"):
        original, run_cameras = _load_scene(args.original, device)
        stylized = _load_scene(args.stylized, device)[0]
        style = load_image(args.style, long_side=256, device=device) if args.style else None
        path = _camera_path(args, original, args.size, run_cameras, args.original)[0]
        width, height = _video_size(path, args.size)
        path = path.scaled_to(width, height)
    metrics = {}
    for name, scene in (("original", original), ("stylized", stylized)):
        with report.phase(f"render_{name}"):
            frames = render_all(scene, path, width, height, backend=args.backend)
            rgb, alpha, depth = frames.rgb, frames.alpha, frames.depth
        for label, k in (("short_range_k1", 1), ("long_range_k%d" % args.long_range, args.long_range)):
            score = warp_rmse(rgb, depth, alpha, path, k)
            metrics[f"{name}_{label}_rmse"] = score.rmse
            metrics[f"{name}_{label}_valid_fraction"] = score.valid_fraction
        if style is not None and name == "stylized":
            from core.metrics import style_distance

            picks = range(0, len(path), max(1, len(path) // 8))
            metrics["stylized_style_distance"] = sum(style_distance(rgb[i:i + 1].to(device), style)
                                                     for i in picks) / len(picks)
    report.inputs = [args.original, args.stylized] + ([args.style] if args.style else [])
    report.metrics = metrics
    report.sizes = {"frames": len(path), "width": width, "height": height}
    print(json.dumps(metrics, indent=1))
    return 0
