"""Any 3D scene file → scene object, and one ``render`` for every representation.

Gaussian splats (``.ply``, :class:`~stylize3d.splats.scene.GaussianScene`) and radiance fields (``.safetensors``,
:class:`~stylize3d.fields.grid.RadianceField`) are told apart by the file suffix. :func:`render_scene` and
:func:`render_scene_all` have the splat renderer's signature, so camera paths, previews, videos and
``metrics-3d`` take either.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple, Union

import torch

from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField, is_field_file, load_field
from stylize3d.splats.render import RenderOutput, render, render_all
from stylize3d.splats.scene import GaussianScene

Scene = Union[GaussianScene, RadianceField]


def load_scene(path: "str | os.PathLike", device="cpu") -> Tuple[Scene, Optional[Cameras]]:
    """The scene at ``path`` on ``device`` and, when it is a training run that records them, its training
    cameras (else None): a radiance field (``.safetensors``), a splat ``.ply``, or a nerfstudio / 3DGS /
    gsplat run folder (:func:`stylize3d.datasets.runs.load_scene_source`); InputError otherwise."""
    if is_field_file(path):
        return load_field(path, device), None
    from stylize3d.datasets.runs import load_scene_source

    return load_scene_source(path, device)


def render_scene(scene: Scene, cameras: Cameras, width: int, height: int,
                 background: "torch.Tensor | tuple[float, float, float]" = (0.0, 0.0, 0.0), **kwargs) -> RenderOutput:
    """:func:`stylize3d.splats.render.render` for splats, :func:`stylize3d.fields.render.render_field` for fields
    (``kwargs`` go to the splat renderer: ``sh_degree``, ``backend``)."""
    if isinstance(scene, RadianceField):
        from stylize3d.fields.render import render_field

        return render_field(scene, cameras, width, height, background)
    return render(scene, cameras, width, height, background, **kwargs)


@torch.no_grad()
def render_scene_all(scene: Scene, cameras: Cameras, width: int, height: int,
                     background: "torch.Tensor | tuple[float, float, float]" = (1.0, 1.0, 1.0),
                     sh_degree=None, backend: str = "auto", batch: int = 4) -> RenderOutput:
    """:func:`stylize3d.splats.render.render_all` for either representation: no gradient, rgb clamped, on the CPU."""
    if isinstance(scene, RadianceField):
        from stylize3d.fields.render import render_field

        out = render_field(scene, cameras, width, height, background)
        return RenderOutput(out.rgb.clamp(0, 1).cpu(), out.alpha.cpu(), out.depth.cpu())
    return render_all(scene, cameras, width, height, background, sh_degree, backend, batch)


def save_scene(scene: Scene, path: "str | os.PathLike") -> None:
    """Write ``scene`` to ``path`` atomically in its own format: a radiance field as ``.safetensors``
    (:func:`~stylize3d.fields.grid.save_field`), Gaussian splats as a 3DGS ``.ply``
    (:func:`~stylize3d.splats.ply.write_ply`)."""
    if isinstance(scene, RadianceField):
        from stylize3d.fields.grid import save_field

        save_field(scene, path)
    else:
        from stylize3d.splats.ply import write_ply

        write_ply(scene, path)
