"""Take a radiance field out of the toolkit: a coloured mesh (marching cubes) or a 3DGS splat scene.

* :func:`field_to_mesh`: ``skimage.measure.marching_cubes`` over the per-voxel opacity
  ``α = 1 − exp(−σ · voxel)`` at ``level`` (default 0.5), vertices moved to world coordinates, vertex colours
  sampled from the field (seen along the inward normal, i.e. from outside), written by trimesh (.ply, .glb,
  .obj — Blender opens all three).
* :func:`field_to_splats`: one isotropic Gaussian per occupied grid point whose opacity over one voxel exceeds
  ``min_opacity``: mean at the point, standard deviation ``scale`` × the voxel edge, opacity ``α`` of the cell
  (as a logit), colour as SH degree 0 (``f_dc = (c − 0.5)/C0``), identity rotation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from core.atomic import atomic_output
from core.errors import InputError
from stylize3d.fields.grid import RadianceField, world_per_grid
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import write_ply
from stylize3d.splats.scene import GaussianScene

MESH_SUFFIXES = (".ply", ".glb", ".obj")
SPLAT_SCALE = 0.5
"""Gaussian standard deviation in voxel edges for the splat export."""


def voxel_opacity(field: RadianceField) -> torch.Tensor:
    """``D,H,W`` opacity of a ray crossing one voxel at each grid point (0 where unoccupied)."""
    with torch.no_grad():
        sigma = torch.nn.functional.softplus(field.density[0, 0] + field.density_shift)
        alpha = 1 - torch.exp(-sigma * field.voxel_size * world_per_grid(field))
    return torch.where(field.occupancy, alpha, torch.zeros_like(alpha))


def _grid_to_world(field: RadianceField, ijk: torch.Tensor) -> torch.Tensor:
    """Grid index coordinates ``N,3`` (z, y, x order) → world ``N,3`` (x, y, z) for an uncontracted field."""
    res = torch.tensor(field.resolution, dtype=torch.float64)
    xyz = ijk.double().flip(-1) / (res.flip(0) - 1)
    lo, hi = field.box_min.double().cpu(), field.box_max.double().cpu()
    return (lo + xyz * (hi - lo)).float()


def field_to_mesh(field: RadianceField, level: float = 0.5):
    """A ``trimesh.Trimesh`` of the ``level`` iso-surface of :func:`voxel_opacity`, with RGBA vertex colours."""
    import trimesh
    from skimage.measure import marching_cubes

    if field.contracted:
        raise InputError("mesh export of a contracted (unbounded) field is not supported; export splats instead")
    alpha = voxel_opacity(field).cpu().numpy()
    if not 0 < level < 1:
        raise InputError(f"--level must lie in (0, 1), got {level}")
    if alpha.max() <= level:
        raise InputError(f"the field's opacity never reaches --level {level} (max {alpha.max():.3f}); lower it")
    verts, faces, normals, _ = marching_cubes(np.pad(alpha, 1), level=level)
    verts = torch.from_numpy(verts.copy()).float() - 1  # undo the padding
    world = _grid_to_world(field, verts)
    inward = -torch.nn.functional.normalize(torch.from_numpy(normals.copy()).float().flip(-1), dim=-1)
    with torch.no_grad():
        colour = field.rgb(world.to(field.device), inward.to(field.device)).clamp(0, 1).cpu()
    rgba = np.concatenate([(colour.numpy() * 255 + 0.5).astype(np.uint8), np.full((len(colour), 1), 255, np.uint8)], 1)
    # marching_cubes' default ("descent") winds the faces with normals towards lower opacity: outwards
    return trimesh.Trimesh(vertices=world.numpy(), faces=faces, vertex_colors=rgba, process=False)


def field_to_splats(field: RadianceField, min_opacity: float = 0.05, scale: float = SPLAT_SCALE) -> GaussianScene:
    """One Gaussian per grid point with voxel opacity above ``min_opacity`` (see the module docstring)."""
    if field.contracted:
        raise InputError("splat export of a contracted field is not supported yet")
    alpha = voxel_opacity(field)
    keep = alpha > min_opacity
    if not keep.any():
        raise InputError(f"no voxel of the field is more opaque than {min_opacity}")
    ijk = keep.nonzero()
    means = _grid_to_world(field, ijk.cpu()).to(field.device)
    a = alpha[keep].clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        colour = field.rgb(means, torch.tensor([[0.0, 0.0, 1.0]], device=field.device).expand_as(means))
    n = means.shape[0]
    voxel = field.voxel_size
    return GaussianScene(means=means.cpu(), quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                         log_scales=torch.full((n, 3), float(np.log(scale * voxel))),
                         opacity_logits=torch.logit(a).cpu(), sh=((colour - 0.5) / SH_C0)[:, None].cpu())


def export_field(field: RadianceField, path: "str | os.PathLike", fmt: str = "mesh", level: float = 0.5,
                 min_opacity: float = 0.05) -> dict:
    """Write ``field`` as a mesh (.ply/.glb/.obj) or splats (.ply) to ``path`` atomically; returns sizes."""
    path = Path(path)
    suffix = path.suffix.lower()
    if fmt == "splats":
        if suffix != ".ply":
            raise InputError(f"--format splats writes a 3DGS .ply; {path} does not end in .ply")
        scene = field_to_splats(field, min_opacity)
        write_ply(scene, path)
        return {"gaussians": scene.num_gaussians}
    if fmt != "mesh":
        raise InputError(f"unknown --format {fmt!r}; choose mesh or splats")
    if suffix not in MESH_SUFFIXES:
        raise InputError(f"mesh output {path} must end in one of {', '.join(MESH_SUFFIXES)}")
    mesh = field_to_mesh(field, level)
    with atomic_output(path) as tmp:
        mesh.export(str(tmp), file_type=suffix[1:])
    return {"vertices": len(mesh.vertices), "faces": len(mesh.faces)}
