"""Gaussian splats in the representation registry (:mod:`stylize3d.representations`): 3DGS ``.ply`` files and
nerfstudio / original 3DGS / gsplat training runs, rendered by :func:`stylize3d.splats.render.render`, stylized
and edited by :mod:`stylize3d.splats.stylize`, fitted by :mod:`stylize3d.splats.fit_cli`."""

from __future__ import annotations

from pathlib import Path

from stylize3d.datasets.runs import load_scene_source, scene_name
from stylize3d.representations import Representation
from stylize3d.splats.ply import write_ply
from stylize3d.splats.render import render, render_all
from stylize3d.splats.stylize import SplatStyleOptions, splat_edit_task, splat_style_task


class Splats(Representation):
    name = "splats"
    suffix = ".ply"
    style_options = SplatStyleOptions
    browser_drawable = True
    fit_help = "3D Gaussian splats (3DGS recipe), written as a .ply"

    def accepts(self, path: Path) -> bool:
        """Any path: a ``.ply`` or a training run folder; the loader explains what is wrong with anything else."""
        return True

    def load(self, path, device):
        return load_scene_source(path, device)

    def save(self, scene, path) -> None:
        write_ply(scene, path)

    def scene_name(self, path) -> str:
        return scene_name(path)

    def render(self, scene, cameras, width, height, background=(0.0, 0.0, 0.0), sh_degree=None, backend="auto"):
        return render(scene, cameras, width, height, background, sh_degree, backend)

    def render_all(self, scene, cameras, width, height, background=(1.0, 1.0, 1.0), sh_degree=None, backend="auto",
                   batch=4):
        return render_all(scene, cameras, width, height, background, sh_degree, backend, batch)

    def sizes(self, scene) -> dict:
        return {"gaussians": scene.num_gaussians}

    def style_task(self, scene, cameras, style, config, options):
        return splat_style_task(scene, cameras, style, config, options or SplatStyleOptions())

    def edit_task(self, scene, cameras, config, options):
        return splat_edit_task(scene, cameras, config, options or SplatStyleOptions())

    def fit(self, data, device, source=None, progress=True, **config):
        from core.config import replace_fields
        from stylize3d.datasets.posed import load_sparse_points
        from stylize3d.splats.fit import SplatFitConfig, fit_splats

        points = load_sparse_points(source) if source is not None else None
        return fit_splats(data, replace_fields(SplatFitConfig, **config), device, points=points,
                          progress=progress).scene

    def add_fit_options(self, parser) -> None:
        from stylize3d.splats.fit_cli import add_splat_options

        add_splat_options(parser)

    def run_fit(self, job, data) -> int:
        from stylize3d.splats.fit_cli import run_splats

        return run_splats(job, data)


SPLATS = Splats()
