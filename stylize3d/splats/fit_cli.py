"""``stylize fit DATA -o scene.ply --model splats``: the splats model of :mod:`stylize3d.fit_cli`'s ``fit``.

Trains 3D Gaussian splats (3DGS recipe, :mod:`stylize3d.splats.fit`) on the posed data, initialised from the
dataset's ``sparse_pc.ply`` when there is one, and writes OUT.ply, ``OUT_heldout/camera_<i>.png`` (render | photo
for each held-out view) and held-out PSNR/SSIM in the report."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from core.cli import add_config_options, config_from_args
from core.errors import InputError
from core.io.images import save_image
from stylize3d.datasets.posed import load_sparse_points
from stylize3d.fit_budget import say_budget
from stylize3d.splats.ply import write_ply
from stylize3d.splats.render import BACKENDS, render_all
from stylize3d.splats.fit import SplatFitConfig, fit_splats, resolve_background


def add_splat_options(parser) -> None:
    """``--model splats`` options of ``stylize fit``: one per :class:`SplatFitConfig` field (those another model
    already added, such as ``--steps``, are shared; ``--seed`` is the common one), plus ``--backend``."""
    add_config_options(parser, SplatFitConfig, skip=("seed",), group="--model splats")
    group = next(g for g in parser._action_groups if g.title == "--model splats")
    group.add_argument("--backend", choices=BACKENDS, default="auto",
                       help="renderer: torch, gsplat (CUDA) or auto")


def run_splats(job, data) -> int:
    """Fit splats to the loaded posed ``data`` and write ``args.output`` (.ply), held-out renders and the report."""
    args, device, report = job.args, job.device, job.report
    output = Path(args.output)
    if output.suffix.lower() != ".ply":
        raise InputError(f"output {output} must end in .ply for --model splats")
    config = config_from_args(SplatFitConfig, args, seed=args.seed)
    config.validate()
    config = resolve_background(config, data)
    if args.checkpoint_every < 1:
        raise InputError("--checkpoint-every must be at least 1")
    with report.phase("load_points"):
        points = load_sparse_points(args.data)
    checkpoint = job.checkpoint(output.parent / f".{output.name}.checkpoint.pt", every=args.checkpoint_every,
                            meta={"data": str(Path(args.data).resolve()), "downscale": args.downscale,
                                  "config": repr(config)})
    with report.phase("fit"):
        result = fit_splats(data, config, device, points=points, checkpoint=checkpoint, resume=job.resume,
                            progress=job.progress, backend=args.backend)
    with report.phase("write"):
        write_ply(result.scene, output)
    outputs = [str(output)]
    test = data.split.get("test", [])
    if test and not result.interrupted:
        with report.phase("held_out_renders"):
            outputs += _held_out_renders(result.scene, data, test, output, args.backend, result.metrics,
                                         config.background_rgb(data.white_background))
    report.outputs = outputs
    report.set_steps(result.steps_done, result.seconds)
    w, h = data.size
    report.sizes = {"images": len(data), "train_views": len(data.split["train"]), "test_views": len(test),
                    "width": w, "height": h, "gaussians": result.scene.num_gaussians,
                    "initial_points": 0 if points is None else len(points[0])}
    report.metrics = {"held_out": {k: result.metrics.get(k) for k in ("psnr", "ssim")}, **result.metrics,
                      "background": config.background,
                      "history": result.history, "interrupted": result.interrupted}
    if result.interrupted:
        return job.interrupted(f"wrote the Gaussians so far to {output}")
    if "psnr" in result.metrics and not args.quiet:
        print(f"fit: {result.scene.num_gaussians} Gaussians, held-out PSNR {result.metrics['psnr']:.2f} dB, "
              f"SSIM {result.metrics['ssim']:.4f} -> {output}", file=sys.stderr)
    say_budget(result.metrics, args.quiet)
    return 0


def _held_out_renders(scene, data, test: list, output: Path, backend: str, metrics: dict, background: tuple) -> list:
    """``OUT_heldout/camera_<i>.png``: render | photo for each held-out view ``i`` (its index in the dataset), the
    render on ``background`` (RGB in [0,1], the training background)."""
    w, h = data.size
    degree = metrics.get("sh_degree_reached")
    renders = render_all(scene, data.cameras[test], w, h, background, degree, backend).rgb
    folder = output.with_name(output.stem + "_heldout")
    paths = []
    for k, i in enumerate(test):
        path = folder / f"camera_{i:04d}.png"
        save_image(torch.cat([renders[k], data.images[i].cpu()], dim=2)[None], path)
        paths.append(str(path))
    return paths
