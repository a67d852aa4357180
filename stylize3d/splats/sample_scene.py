"""Generator of the bundled sample splat scene: trimesh primitives → surface samples → flat Gaussians.

A tiled ground with a few coloured, patterned objects (sphere, box, cylinder, cone, torus, capsule), each
surface sample turned into a disc-like Gaussian lying in the surface (two tangent scales from the sampling
density, a thin scale along the normal), SH degree 0. Also writes a ``transforms.json`` of cameras around it.

    python -m stylize3d.splats.sample_scene --out scenes/splats
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import trimesh

from core.atomic import atomic_output
from stylize3d.camera_paths import orbit
from stylize3d.cameras import cat_cameras
from stylize3d.datasets.transforms_json import transforms_dict
from stylize3d.rotations import rotmat_to_quat
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import write_ply
from stylize3d.splats.scene import GaussianScene



def _checker(points, size, a, b):
    parity = (np.floor(points[:, 0] / size) + np.floor(points[:, 1] / size)) % 2
    return np.where(parity[:, None] > 0, a, b)


def _ground(points, normals):
    tiles = _checker(points, 0.5, np.array([0.78, 0.74, 0.66]), np.array([0.45, 0.42, 0.38]))
    radial = np.exp(-0.08 * (points[:, 0] ** 2 + points[:, 1] ** 2))[:, None]
    return tiles * (0.55 + 0.45 * radial)


def _bands(colour_a, colour_b, axis=2, period=0.18):
    def colour(points, normals):
        parity = np.floor(points[:, axis] / period) % 2
        return np.where(parity[:, None] > 0, colour_a, colour_b)

    return colour


def _shaded(base):
    """Flat colour with baked soft lighting from above-left, so shapes read in renders."""
    light = np.array([-0.4, -0.3, 0.85]) / np.linalg.norm([-0.4, -0.3, 0.85])

    def colour(points, normals):
        rgb = base(points, normals) if callable(base) else np.broadcast_to(base, points.shape)
        return rgb * (0.55 + 0.45 * np.clip(normals @ light, 0, 1))[:, None]

    return colour


def _objects() -> list[tuple[trimesh.Trimesh, object, int]]:
    """(mesh in world coordinates, colouring, sample count) for every part of the scene; z is up."""
    def placed(mesh, x, y, z=0.0):
        mesh.apply_translation([x, y, z - mesh.bounds[0, 2] if z == 0.0 else z])
        return mesh

    ground = trimesh.creation.box(extents=[5.0, 5.0, 0.02])
    ground.apply_translation([0, 0, -0.01])
    sphere = placed(trimesh.creation.icosphere(subdivisions=4, radius=0.45), -0.7, 0.6)
    box = placed(trimesh.creation.box(extents=[0.7, 0.7, 0.7]), 0.8, 0.5)
    box.apply_transform(trimesh.transformations.rotation_matrix(math.radians(30), [0, 0, 1], box.centroid))
    cylinder = placed(trimesh.creation.cylinder(radius=0.25, height=1.1, sections=48), 0.3, -0.8)
    cone = placed(trimesh.creation.cone(radius=0.35, height=0.9, sections=48), -0.9, -0.6)
    torus = trimesh.creation.torus(major_radius=0.35, minor_radius=0.1, major_sections=48, minor_sections=16)
    torus.apply_transform(trimesh.transformations.rotation_matrix(math.radians(70), [1, 0, 0]))
    torus = placed(torus, 0.1, 1.3)
    capsule = placed(trimesh.creation.capsule(height=0.5, radius=0.18, count=[24, 24]), 1.4, -0.5)
    return [
        (ground, _shaded(_ground), 15000),
        (sphere, _shaded(_bands(np.array([0.85, 0.15, 0.12]), np.array([0.95, 0.85, 0.2]), axis=2, period=0.15)), 6000),
        (box, _shaded(_checker_3d()), 6000),
        (cylinder, _shaded(_bands(np.array([0.2, 0.65, 0.3]), np.array([0.92, 0.92, 0.88]), axis=2, period=0.12)), 5000),
        (cone, _shaded(np.array([0.55, 0.25, 0.7])), 3500),
        (torus, _shaded(np.array([0.95, 0.55, 0.1])), 3500),
        (capsule, _shaded(np.array([0.2, 0.75, 0.85])), 3000),
    ]


def _checker_3d():
    def colour(points, normals):
        parity = np.floor(points / 0.175).sum(axis=1) % 2
        return np.where(parity[:, None] > 0, np.array([0.15, 0.3, 0.8]), np.array([0.85, 0.88, 0.95]))

    return colour


def _frames_from_normals(normals: np.ndarray) -> np.ndarray:
    """``M,3,3`` rotations whose third column is the normal (first two span the tangent plane)."""
    helper = np.where(np.abs(normals[:, :1]) < 0.9, np.array([[1.0, 0, 0]]), np.array([[0.0, 1, 0]]))
    t1 = np.cross(normals, helper)
    t1 /= np.linalg.norm(t1, axis=1, keepdims=True)
    t2 = np.cross(normals, t1)
    return np.stack([t1, t2, normals], axis=2)


def build_scene(seed: int = 0, density: float = 1.0) -> GaussianScene:
    """The sample scene (about 42k Gaussians at ``density`` 1), deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    parts = []
    for mesh, colouring, count in _objects():
        count = max(16, int(count * density))
        points, faces = trimesh.sample.sample_surface(mesh, count, seed=rng)
        normals = mesh.face_normals[faces]
        spacing = math.sqrt(mesh.area / count)
        rgb = np.clip(colouring(points, normals), 0, 1)
        scales = np.tile([1.0 * spacing, 1.0 * spacing, 0.08 * spacing], (count, 1))
        quats = rotmat_to_quat(torch.from_numpy(_frames_from_normals(normals))).numpy()
        parts.append((points, quats, np.log(scales), rgb))
    points, quats, log_scales, rgb = (np.concatenate(items).astype(np.float32) for items in zip(*parts))
    n = len(points)
    return GaussianScene(
        means=torch.from_numpy(points), quats=torch.from_numpy(quats), log_scales=torch.from_numpy(log_scales),
        opacity_logits=torch.full((n,), 3.0),
        sh=torch.from_numpy((rgb - 0.5) / SH_C0)[:, None, :].float(),
    )


def training_cameras(size: int = 256):
    """32 cameras around the scene: 24 on an orbit at 25° elevation, 8 higher at 50°, all at ``size`` px."""
    centre = torch.tensor([0.0, 0.0, 0.35])
    low = orbit(centre, 4.2, 25.0, 24, fov_deg=50.0, width=size, height=size)
    high = orbit(centre, 3.2, 50.0, 8, fov_deg=50.0, width=size, height=size, phase_deg=22.5)
    return cat_cameras([low, high])


def write_sample_scene(out_dir: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write ``sample_scene.ply`` and ``transforms.json`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ply, transforms = out_dir / "sample_scene.ply", out_dir / "transforms.json"
    write_ply(build_scene(seed), ply)
    doc = transforms_dict(training_cameras())
    doc["comment"] = "cameras of the synthetic sample scene (no images: render them with stylize render)"
    with atomic_output(transforms) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    return ply, transforms


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the bundled sample splat scene.")
    parser.add_argument("--out", type=Path, default=Path("scenes/splats"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in write_sample_scene(args.out, args.seed):
        print(path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
