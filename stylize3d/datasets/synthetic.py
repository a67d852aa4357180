"""Posed test data with known cameras: the bundled splat scene rendered by our splat renderer, as a Blender folder.

``write_synthetic_dataset(out_dir)`` renders ``views`` RGBA views of ``scenes/splats/sample_scene.ply`` from
cameras on a spiral over the upper hemisphere around the scene (every ``HOLDOUT_EVERY``-th view goes to the test
split) and writes the NeRF-synthetic layout: ``transforms_train.json``, ``transforms_test.json`` (one
``camera_angle_x``, OpenGL camera-to-world ``transform_matrix`` per frame) and ``train/r_###.png``,
``test/r_###.png`` (straight RGBA). Used by the field tests, the fit benchmark and the demo.

With ``sparse_points > 0`` it also writes ``sparse_pc.ply``, standing in for the sparse cloud structure from
motion gives a real capture (``stylize capture`` writes one; ``stylize fit`` starts from it): that many surface
points of the scene (a random subset of its Gaussians' centres, which are surface samples) moved by isotropic
Gaussian noise of ``point_noise`` scene units, with their colours. It is not SfM output: real SfM points cluster
on texture and miss flat regions; on this scene's renders ``stylize capture`` found about 1,100 points from 36 views
at 320x240 px (BENCHMARKS.md).

    python -m stylize3d.datasets.synthetic OUT_DIR [--views 48] [--size 200] [--sparse-points 5000]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from PIL import Image

from core.atomic import atomic_output
from core.scenes import scenes_dir
from stylize3d.cameras import Cameras, intrinsics_from_fov, look_at, viewmat_to_c2w_opengl
from stylize3d.datasets.posed import HOLDOUT_EVERY
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import read_ply
from stylize3d.splats.render import render_all
from stylize3d.splats.scene import GaussianScene

CENTRE = (0.0, 0.0, 0.35)
"""The sample scene's centre of interest (its objects stand on the z = 0 ground)."""
FOV_DEG = 50.0


def spiral_cameras(views: int, size: int, radius: float = 4.2, elevations: tuple[float, float] = (15.0, 65.0),
                   centre: tuple = CENTRE, fov_deg: float = FOV_DEG) -> Cameras:
    """``views`` cameras looking at ``centre`` from distance ``radius``, on a spiral: azimuth steps of the golden
    angle, elevation rising evenly from ``elevations[0]`` to ``elevations[1]`` degrees (z up), ``size`` px square."""
    i = torch.arange(views, dtype=torch.float64)
    azimuth = i * math.pi * (3 - math.sqrt(5))
    lo, hi = (math.radians(e) for e in elevations)
    elevation = lo + (hi - lo) * i / max(views - 1, 1)
    c = torch.tensor(centre, dtype=torch.float64)
    eyes = c + radius * torch.stack([torch.cos(elevation) * torch.cos(azimuth),
                                     torch.cos(elevation) * torch.sin(azimuth), torch.sin(elevation)], dim=1)
    K = intrinsics_from_fov(fov_deg, size, size)
    return Cameras(look_at(eyes, c, torch.tensor([0.0, 0.0, 1.0])), K.repeat(views, 1, 1),
                   torch.full((views,), size), torch.full((views,), size))


def render_rgba(scene: GaussianScene, cameras: Cameras, size: int) -> torch.Tensor:
    """``B,4,H,W`` straight (un-premultiplied) RGBA renders of ``scene`` in [0,1]."""
    out = render_all(scene, cameras, size, size, background=(0.0, 0.0, 0.0), backend="torch")
    alpha = out.alpha.clamp(0, 1)
    rgb = torch.where(alpha > 1e-4, out.rgb / alpha.clamp_min(1e-4), torch.zeros_like(out.rgb)).clamp(0, 1)
    return torch.cat([rgb, alpha], dim=1)


def write_sparse_points(scene: GaussianScene, path: "str | Path", count: int, noise: float = 0.01,
                        seed: int = 0) -> None:
    """Write ``count`` (at most the scene's size) noisy surface points of ``scene`` with their SH-DC colours as a
    coloured point PLY at ``path`` (the ``sparse_pc.ply`` layout); ``noise``: std of the position jitter."""
    from stylize3d.capture.sfm import write_point_ply

    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(scene.num_gaussians, generator=g)[:count]
    xyz = scene.means[pick].detach().double() + noise * torch.randn(len(pick), 3, generator=g, dtype=torch.float64)
    rgb = (0.5 + SH_C0 * scene.sh[pick, 0].detach()).clamp(0, 1)
    with atomic_output(Path(path)) as tmp:
        write_point_ply(xyz.float().numpy(), (rgb * 255 + 0.5).to(torch.uint8).numpy(), tmp)


def write_synthetic_dataset(out_dir: "str | Path", views: int = 48, size: int = 200,
                            scene: Optional[GaussianScene] = None, sparse_points: int = 0,
                            point_noise: float = 0.01) -> Path:
    """Render ``views`` views of ``scene`` (default: the bundled sample scene) at ``size`` px into a Blender-layout
    folder ``out_dir`` (created); frames ``0, 8, 16, ...`` form the test split; ``sparse_points > 0`` also writes
    ``sparse_pc.ply`` (:func:`write_sparse_points`). Returns ``out_dir``."""
    out_dir = Path(out_dir)
    if views < 2 or size < 8:
        raise ValueError("need at least 2 views of at least 8 px")
    scene = read_ply(scenes_dir() / "splats" / "sample_scene.ply") if scene is None else scene
    cameras = spiral_cameras(views, size)
    rgba = render_rgba(scene, cameras, size)
    c2w = viewmat_to_c2w_opengl(cameras.viewmats)
    docs = {"train": [], "test": []}
    for i in range(views):
        split = "test" if i % HOLDOUT_EVERY == 0 else "train"
        name = f"{split}/r_{i:03d}"
        pixels = (rgba[i].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        with atomic_output(out_dir / f"{name}.png") as tmp:
            Image.fromarray(pixels, "RGBA").save(tmp, format="PNG")
        docs[split].append({"file_path": f"./{name}", "transform_matrix": c2w[i].tolist()})
    for split, frames in docs.items():
        doc = {"camera_angle_x": math.radians(FOV_DEG), "frames": frames}
        with atomic_output(out_dir / f"transforms_{split}.json") as tmp:
            tmp.write_text(json.dumps(doc, indent=1))
    if sparse_points > 0:
        write_sparse_points(scene, out_dir / "sparse_pc.ply", sparse_points, point_noise)
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description="Render the bundled splat scene into a Blender-layout posed folder.")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--views", type=int, default=48, help="number of views (every 8th is a test view)")
    parser.add_argument("--size", type=int, default=200, help="image side in pixels")
    parser.add_argument("--sparse-points", type=int, default=0, help="also write sparse_pc.ply with this many "
                                                                    "noisy surface points")
    args = parser.parse_args()
    print(write_synthetic_dataset(args.out, args.views, args.size, sparse_points=args.sparse_points))


if __name__ == "__main__":
    main()
