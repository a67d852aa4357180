"""Any 3D scene file → scene object, and one ``render`` for every representation.

Gaussian splats (``.ply``, :class:`~stylize3d.scene.GaussianScene`) and radiance fields (``.safetensors``,
:class:`~stylize3d.fields.grid.RadianceField`) are told apart by the file suffix. :func:`render_scene` and
:func:`render_scene_all` have the splat renderer's signature, so camera paths, previews, videos and
``metrics-3d`` take either.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import torch

from core.errors import InputError
from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField, is_field_file, load_field
from stylize3d.render import RenderOutput, render, render_all
from stylize3d.scene import GaussianScene

Scene = Union[GaussianScene, RadianceField]
SCENE_SUFFIXES = (".ply", ".safetensors")


def load_scene(path: "str | os.PathLike", device="cpu") -> Scene:
    """A splat scene (``.ply``) or a radiance field (``.safetensors``) on ``device``; InputError otherwise."""
    path = Path(path)
    if is_field_file(path):
        return load_field(path, device)
    if path.suffix.lower() == ".ply":
        from stylize3d.ply import read_ply

        return read_ply(path).to(device)
    raise InputError(f"{path}: unknown scene file type; expected one of {', '.join(SCENE_SUFFIXES)}")


def render_scene(scene: Scene, cameras: Cameras, width: int, height: int,
                 background: "torch.Tensor | tuple[float, float, float]" = (0.0, 0.0, 0.0), **kwargs) -> RenderOutput:
    """:func:`stylize3d.render.render` for splats, :func:`stylize3d.fields.render.render_field` for fields
    (``kwargs`` go to the splat renderer: ``sh_degree``, ``backend``)."""
    if isinstance(scene, RadianceField):
        from stylize3d.fields.render import render_field

        return render_field(scene, cameras, width, height, background)
    return render(scene, cameras, width, height, background, **kwargs)


@torch.no_grad()
def render_scene_all(scene: Scene, cameras: Cameras, width: int, height: int,
                     background: "torch.Tensor | tuple[float, float, float]" = (1.0, 1.0, 1.0),
                     sh_degree=None, backend: str = "auto", batch: int = 4) -> RenderOutput:
    """:func:`stylize3d.render.render_all` for either representation: no gradient, rgb clamped, on the CPU."""
    if isinstance(scene, RadianceField):
        from stylize3d.fields.render import render_field

        out = render_field(scene, cameras, width, height, background)
        return RenderOutput(out.rgb.clamp(0, 1).cpu(), out.alpha.cpu(), out.depth.cpu())
    return render_all(scene, cameras, width, height, background, sh_degree, backend, batch)
