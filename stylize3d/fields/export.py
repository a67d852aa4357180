"""Take a radiance field out of the toolkit: a coloured mesh (marching cubes) or a 3DGS splat scene.

* :func:`field_to_mesh`: ``skimage.measure.marching_cubes`` over the per-voxel opacity
  ``α = 1 − exp(−σ · voxel)`` at ``level``, vertices moved to world coordinates, vertex colours the field's
  view-independent colour there (SH degree 0, the DC term), written by trimesh (.ply, .glb, .obj — Blender opens
  all three).
* :func:`auto_level`, the ``level`` when none is given: **the median voxel opacity at the surface points the
  cameras see**. Each ray of the cameras (at most ``LEVEL_VIEWS`` of the training cameras, or an orbit of that many
  around the field, at ``LEVEL_SIZE`` px) is sampled as the renderer samples it; its surface point is its expected termination point ``Σ w_i x_i / Σ w_i`` (the rendered
  depth), and its level the voxel opacity ``α`` there, capped at ``LEVEL_CAP`` (0.9) of the ray's peak ``α``
  (the largest among its samples) so that it lies on the climb into the surface, not on the plateau of a
  uniform interior. The rays that count are those at least half covered (accumulated opacity ≥ 0.5, or ≥ half
  the largest one when no ray reaches 0.5). The iso-surface then passes through the points where the cameras'
  rays end: near 0.5 or above for a solid surface whose voxels turn opaque, lower for a soft fitted one whose
  voxels never reach 0.5 — which a fixed 0.5 refused. A ray that ends between semi-transparent layers, in
  empty space (opacity there under ``LEVEL_EMPTY`` = 0.1 of its peak), counts with half its peak, the middle of
  its climb. A field that renders always gets a level
  below its largest opacity (at most ``LEVEL_CAP`` of it), so it always meshes.
* :func:`field_to_splats`: one isotropic Gaussian per occupied grid point whose opacity over one voxel exceeds
  ``min_opacity``: mean at the point, standard deviation ``scale`` × the voxel edge, opacity ``α`` of the cell
  (as a logit), colour the view-independent (DC) colour as SH degree 0 (``f_dc = (c − 0.5)/C0``), identity
  rotation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from core.atomic import atomic_output
from core.errors import InputError
from stylize3d.cameras import Cameras
from stylize3d.fields.grid import RadianceField, world_per_grid
from stylize3d.fields.render import CHUNK_RAYS, camera_rays, weighted_samples
from stylize3d.fields.stylize import to_degree0
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import write_ply
from stylize3d.splats.scene import GaussianScene

MESH_SUFFIXES = (".ply", ".glb", ".obj")
SPLAT_SCALE = 0.5
"""Gaussian standard deviation in voxel edges for the splat export."""
LEVEL_VIEWS = 12
"""Views :func:`auto_level` looks from: an orbit of that many when no cameras are given, else at most that many
of the cameras, evenly spread (a view of a fitted 191x191x114 field costs about a second at 48 px)."""
LEVEL_SIZE = 48
"""Long side in pixels of the views :func:`auto_level` casts its rays through."""
LEVEL_CAP = 0.9
""":func:`auto_level` takes at most this fraction of a ray's peak opacity as its surface level."""
LEVEL_EMPTY = 0.1
"""A ray whose end point is less opaque than this fraction of its peak ended in empty space (between
semi-transparent layers): :func:`auto_level` counts it with half its peak."""


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


def view_independent_rgb(field: RadianceField, points: torch.Tensor) -> torch.Tensor:
    """The field's view-independent colour ``N,3`` in (0,1) (SH degree 0: the DC term) at world points ``N,3``."""
    with torch.no_grad():
        return to_degree0(field).rgb(points, torch.zeros_like(points))


@torch.no_grad()
def ray_surfaces(field: RadianceField, cameras: Cameras, size: int = LEVEL_SIZE) -> dict:
    """What :func:`auto_level` reads of the rays of ``cameras`` at ``size`` px long side, each ``R``:
    ``coverage`` (accumulated opacity in [0,1]), ``peak`` (the largest voxel opacity ``1 − exp(−σ · voxel)``
    among the samples the renderer shades; 0 for a ray that meets nothing), ``points`` ``R,3`` (expected
    termination points, world; the ray origin where nothing is hit) and ``surface`` (the voxel opacity there)."""
    width, height = cameras.size_for(size)
    voxel = field.voxel_size * world_per_grid(field)
    out = {"coverage": [], "peak": [], "points": []}
    for i in range(len(cameras)):
        rays = camera_rays(cameras[i], width, height, field.device)
        for j in range(0, len(rays), CHUNK_RAYS):
            chunk = rays[j:j + CHUNK_RAYS]
            samples = weighted_samples(field, chunk, weight_threshold=0.0, keep_lookup=True)
            zeros = torch.zeros(len(chunk), device=field.device)
            coverage = zeros.index_add(0, samples.ray, samples.weights)
            depth = zeros.index_add(0, samples.ray, samples.weights * samples.t) / coverage.clamp_min(1e-9)
            alpha = 1 - torch.exp(-field.sigma(samples.lookup) * voxel)
            out["coverage"].append(coverage)
            out["peak"].append(zeros.scatter_reduce(0, samples.ray, alpha, "amax"))
            out["points"].append(chunk.origins + chunk.dirs * depth[:, None])
    out = {k: torch.cat(v) for k, v in out.items()}
    out["surface"] = 1 - torch.exp(-field.sigma(out["points"]) * voxel)
    return {k: v.cpu() for k, v in out.items()}


def auto_level(field: RadianceField, cameras: Optional[Cameras] = None) -> float:
    """The mesh iso-level of ``field`` seen from ``cameras`` (at most :data:`LEVEL_VIEWS` of them, evenly spread;
    default: an orbit of that many views around its bounds): the median over the rays at least half covered of
    ``min(surface, LEVEL_CAP · peak)`` (:func:`ray_surfaces`; see the module docstring), a ray that ends in
    empty space (``surface < LEVEL_EMPTY · peak``) counting with half its peak. Refuses only a field that renders
    nothing from there."""
    if cameras is None:
        from stylize3d.camera_paths import path_around

        cameras = path_around("orbit", LEVEL_VIEWS, LEVEL_SIZE, LEVEL_SIZE, scene=field)
    elif len(cameras) > LEVEL_VIEWS:
        cameras = cameras[sorted({round(i * (len(cameras) - 1) / (LEVEL_VIEWS - 1)) for i in range(LEVEL_VIEWS)})]
    rays = ray_surfaces(field, cameras)
    coverage = rays["coverage"]
    if not float(coverage.max()) > 1e-3:
        raise InputError("the field renders nothing from these cameras (no ray is even 0.1 % covered): "
                         "nothing to mesh")
    covered = coverage >= min(0.5, 0.5 * float(coverage.max()))
    surface, peak = rays["surface"][covered], rays["peak"][covered]
    level = torch.where(surface < LEVEL_EMPTY * peak, 0.5 * peak, torch.minimum(surface, LEVEL_CAP * peak))
    return float(level.median())


def field_to_mesh(field: RadianceField, level: Optional[float] = None, cameras: Optional[Cameras] = None):
    """A ``trimesh.Trimesh`` of the ``level`` iso-surface of :func:`voxel_opacity` (None: :func:`auto_level` from
    ``cameras``), with RGBA vertex colours (:func:`view_independent_rgb`); ``mesh.metadata["level"]`` is the level
    used."""
    import trimesh
    from skimage.measure import marching_cubes

    if field.contracted:
        raise InputError("mesh export of a contracted (unbounded) field is not supported; export splats instead")
    if level is not None and not 0 < level < 1:
        raise InputError(f"--level must lie in (0, 1), got {level}")
    alpha = voxel_opacity(field).cpu().numpy()
    if level is None:
        level = min(auto_level(field, cameras), LEVEL_CAP * float(alpha.max()))  # sampled peaks: trilinear
    if alpha.max() <= level:
        raise InputError(f"the field's opacity never reaches --level {level} (max {alpha.max():.3f}); lower it, "
                         "or leave --level out to pick it from the field")
    verts, faces, _, _ = marching_cubes(np.pad(alpha, 1), level=level)
    verts = torch.from_numpy(verts.copy()).float() - 1  # undo the padding
    world = _grid_to_world(field, verts)
    colour = view_independent_rgb(field, world.to(field.device)).clamp(0, 1).cpu()
    rgba = np.concatenate([(colour.numpy() * 255 + 0.5).astype(np.uint8), np.full((len(colour), 1), 255, np.uint8)], 1)
    # marching_cubes' default ("descent") winds the faces with normals towards lower opacity: outwards
    mesh = trimesh.Trimesh(vertices=world.numpy(), faces=faces, vertex_colors=rgba, process=False)
    mesh.metadata["level"] = float(level)
    return mesh


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
    colour = view_independent_rgb(field, means)
    n = means.shape[0]
    voxel = field.voxel_size
    return GaussianScene(means=means.cpu(), quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                         log_scales=torch.full((n, 3), float(np.log(scale * voxel))),
                         opacity_logits=torch.logit(a).cpu(), sh=((colour - 0.5) / SH_C0)[:, None].cpu())


def export_field(field: RadianceField, path: "str | os.PathLike", fmt: str = "mesh", level: Optional[float] = None,
                 min_opacity: float = 0.05, cameras: Optional[Cameras] = None) -> dict:
    """Write ``field`` as a mesh (.ply/.glb/.obj; iso-``level``, None: :func:`auto_level` from ``cameras``) or
    splats (.ply) to ``path`` atomically; returns sizes (a mesh's with the ``level`` used)."""
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
    mesh = field_to_mesh(field, level, cameras)
    with atomic_output(path) as tmp:
        mesh.export(str(tmp), file_type=suffix[1:])
    return {"vertices": len(mesh.vertices), "faces": len(mesh.faces), "level": mesh.metadata["level"]}
