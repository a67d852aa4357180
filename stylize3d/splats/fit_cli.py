"""``stylize fit DATA -o scene.ply --model splats``: train 3D Gaussian splats on a posed dataset."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from core.atomic import refuse_overwriting_inputs
from core.cli import EXIT_INTERRUPTED, add_command, add_common_options
from core.device import resolve_device
from core.errors import InputError
from core.io.images import save_image
from core.optimize import Checkpoint
from core.report import Report
from stylize3d.ply import write_ply
from stylize3d.render import BACKENDS, render_all
from stylize3d.splats.fit import STRATEGIES, SplatFitConfig, fit_splats

MODELS = ("splats",)


def register(subparsers) -> None:
    d = SplatFitConfig()
    p = add_command(subparsers, "fit", "fit a 3D scene (Gaussian splats) to a posed dataset",
                    description="Train 3D Gaussian splats (3DGS recipe: L1 + 0.2 D-SSIM, per-parameter Adam rates, "
                                "SH degree raised over time, gsplat's densification strategy) on DATA and write "
                                "OUT.ply, held-out renders beside the photos in OUT_heldout/ and held-out PSNR/SSIM "
                                "in the report. DATA: a folder from `stylize capture` or ns-process-data "
                                "(transforms.json), a Blender/NeRF-synthetic folder or a COLMAP model folder.\n\n"
                                "example: stylize fit data/garden -o garden.ply --model splats --steps 3000")
    p.add_argument("data", metavar="DATA", help="posed dataset folder (or transforms.json)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.ply", help="output Gaussian splat scene")
    p.add_argument("--model", choices=MODELS, default="splats", help="scene representation to fit")
    p.add_argument("--size", type=int, default=None,
                   help="long side of the training images in pixels (default: the dataset's size)")
    for field in dataclasses.fields(SplatFitConfig):
        if field.name == "seed":
            continue
        kwargs = {"default": field.default, "help": field.metadata["help"]}
        kwargs["type"] = int if field.name == "refine_stop" else type(field.default)
        if field.name == "strategy":
            kwargs["choices"] = STRATEGIES
        p.add_argument("--" + field.name.replace("_", "-"), **kwargs)
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="renderer: torch, gsplat (CUDA) or auto")
    p.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_options(p)
    p.set_defaults(func=run_fit)


def _dataset(path: str, size):
    from stylize3d.datasets.posed import load_posed_dataset

    data = load_posed_dataset(path)
    if size is None:
        return data
    if size < 16:
        raise InputError(f"--size {size} is too small; use at least 16")
    w, h = data.size
    scale = size / max(w, h)
    if scale >= 1:
        return data
    new_w, new_h = max(8, round(w * scale)), max(8, round(h * scale))
    images = F.interpolate(data.images, size=(new_h, new_w), mode="area")
    alphas = None if data.alphas is None else F.interpolate(data.alphas, size=(new_h, new_w), mode="area")
    return dataclasses.replace(data, cameras=data.cameras.scaled_to(new_w, new_h), images=images, alphas=alphas)


def _sparse_points(path: str):
    """The dataset's ``sparse_pc.ply`` (transforms.json's ``ply_file_path``) as ``(xyz, rgb)``, or None."""
    import json

    from stylize3d.capture.sfm import read_point_ply

    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    name = "sparse_pc.ply"
    if (folder / "transforms.json").is_file():
        name = json.loads((folder / "transforms.json").read_text()).get("ply_file_path", name)
    return read_point_ply(folder / name) if (folder / name).is_file() else None


def run_fit(args) -> int:
    output = Path(args.output)
    if output.suffix.lower() != ".ply":
        raise InputError(f"output {output} must end in .ply")
    refuse_overwriting_inputs(output, [args.data])
    config = SplatFitConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SplatFitConfig)
                               if f.name != "seed"}, seed=args.seed)
    config.validate()
    if args.checkpoint_every < 1:
        raise InputError("--checkpoint-every must be at least 1")
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    report = Report("fit", vars(args))
    report.device = device
    with report.phase("load"):
        data = _dataset(args.data, args.size)
        points = _sparse_points(args.data)
    checkpoint = Checkpoint(output.with_name(output.name + ".fit_checkpoint.pt"), every=args.checkpoint_every,
                            meta={"data": str(Path(args.data).resolve()), "config": repr(config), "size": args.size})
    with report.phase("fit"):
        result = fit_splats(data, config, device, points=points, checkpoint=checkpoint, resume=args.resume,
                            progress=not args.quiet, backend=args.backend)
    with report.phase("write"):
        write_ply(result.scene, output)
    outputs = [str(output)]
    test = data.split.get("test", [])
    if test and not result.interrupted:
        with report.phase("held_out_renders"):
            outputs += _held_out_renders(result.scene, data, test, output, args.backend, result.metrics)
    report.inputs = [args.data]
    report.outputs = outputs
    report.set_steps(result.steps_done, result.seconds)
    w, h = data.size
    report.sizes = {"images": len(data), "train_views": len(data.split["train"]), "test_views": len(test),
                    "width": w, "height": h, "gaussians": result.scene.num_gaussians,
                    "initial_points": 0 if points is None else len(points[0])}
    report.metrics = {"held_out": {k: result.metrics.get(k) for k in ("psnr", "ssim")}, **result.metrics,
                      "history": result.history, "interrupted": result.interrupted}
    report.write(args.report)
    if result.interrupted:
        print(f"stylize fit: interrupted; wrote the Gaussians so far to {output} (continue with the same command "
              "plus --resume)", file=sys.stderr)
        return EXIT_INTERRUPTED
    if "psnr" in result.metrics and not args.quiet:
        print(f"fit: {result.scene.num_gaussians} Gaussians, held-out PSNR {result.metrics['psnr']:.2f} dB, "
              f"SSIM {result.metrics['ssim']:.4f} -> {output}", file=sys.stderr)
    return 0


def _held_out_renders(scene, data, test: list, output: Path, backend: str, metrics: dict) -> list:
    """``OUT_heldout/camera_<i>.png``: render | photo for each held-out view ``i`` (its index in the dataset)."""
    w, h = data.size
    background = (1.0, 1.0, 1.0) if data.white_background else (0.0, 0.0, 0.0)
    degree = metrics.get("sh_degree_reached")
    renders = render_all(scene, data.cameras[test], w, h, background, degree, backend).rgb
    folder = output.with_name(output.stem + "_heldout")
    paths = []
    for k, i in enumerate(test):
        path = folder / f"camera_{i:04d}.png"
        save_image(torch.cat([renders[k], data.images[i].cpu()], dim=2)[None], path)
        paths.append(str(path))
    return paths
