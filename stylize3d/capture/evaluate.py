"""Check a capture against known cameras: synthetic views of the bundled scene, Umeyama alignment, pose errors."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from stylize3d.cameras import Cameras, intrinsics_from_fov, look_at


def umeyama(src: torch.Tensor, dst: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Least-squares similarity ``dst ≈ s·R·src + t`` between ``N,3`` point sets (Umeyama 1991): returns
    ``(s, R 3x3, t 3)`` in float64, ``R`` a proper rotation."""
    src, dst = src.double(), dst.double()
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, sigma, vt = torch.linalg.svd(cov)
    d = torch.ones(3, dtype=torch.float64)
    if torch.det(u) * torch.det(vt) < 0:
        d[2] = -1
    R = u @ torch.diag(d) @ vt
    var_s = xs.pow(2).sum() / len(src)
    s = float((sigma * d).sum() / var_s)
    return s, R, mu_d - s * R @ mu_s


def _angles_deg(truth_rot: torch.Tensor, recovered_rot: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Angle between each true world-to-camera rotation and the recovered one moved by world rotation ``R``
    (which maps a recovered world-to-camera rotation ``W`` to ``W·Rᵀ``)."""
    rel = truth_rot @ (recovered_rot @ R.T).transpose(1, 2)
    cos = ((rel.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)
    return torch.rad2deg(torch.acos(cos))


def pose_errors(recovered: Cameras, truth: Cameras) -> dict[str, float]:
    """Errors of ``recovered`` cameras against ``truth`` (same order, any similarity apart).

    Centres: aligned by :func:`umeyama`; largest and mean error relative to the extent of the true centres (largest
    distance of a true centre from their mean). Rotations: the angle of each camera's rotation against the truth
    after the world rotation of that alignment (``rotation_*_deg``), and after the best single world rotation for
    the orientations themselves (``orientation_*_deg``: the SO(3) projection of ``Σ Wtrueᵢᵀ Wrecᵢ``), which does
    not inherit the centres' noise."""
    s, R, t = umeyama(recovered.centers(), truth.centers())
    aligned = (s * (R @ recovered.centers().double().T)).T + t
    true_c = truth.centers().double()
    extent = float((true_c - true_c.mean(0)).norm(dim=1).max())
    centre_err = (aligned - true_c).norm(dim=1) / extent
    w_true, w_rec = truth.viewmats[:, :3, :3].double(), recovered.viewmats[:, :3, :3].double()
    rot_err = _angles_deg(w_true, w_rec, R)
    # W_trueᵢ ≈ W_recᵢ·Rᵀ: Rᵀ is the rotation nearest to Σ W_recᵢᵀ W_trueᵢ
    u, _, vt = torch.linalg.svd((w_rec.transpose(1, 2) @ w_true).sum(0))
    d = torch.diag(torch.tensor([1.0, 1.0, float(torch.det(u @ vt))], dtype=torch.float64))
    orient_err = _angles_deg(w_true, w_rec, (u @ d @ vt).T)
    return {"rotation_max_deg": float(rot_err.max()), "rotation_mean_deg": float(rot_err.mean()),
            "orientation_max_deg": float(orient_err.max()), "orientation_mean_deg": float(orient_err.mean()),
            "centre_max_rel": float(centre_err.max()), "centre_mean_rel": float(centre_err.mean()),
            "scale": s, "extent": extent}


def arc_cameras(views: int, width: int, height: int, arc_deg: float = 120.0, centre=(0.0, 0.0, 0.3),
                rings=((4.0, 22.0), (3.6, 38.0)), fov_deg: float = 60.0) -> Cameras:
    """Cameras for a synthetic capture of the bundled sample scene (z up): ``views`` cameras split over two rings
    (``(radius, elevation°)`` each) on an ``arc_deg`` arc in front of the scene, looking at ``centre``, the second
    ring offset by half a step, as a person walking around an object would take them."""
    per_ring = [views // len(rings) + (1 if r < views % len(rings) else 0) for r in range(len(rings))]
    eyes = []
    for ring, ((radius, elevation), k) in enumerate(zip(rings, per_ring)):
        for j in range(k):
            theta = math.radians(-arc_deg / 2 + arc_deg * (j + 0.5 * ring) / max(1, k - 1) - 90)
            e = math.radians(elevation)
            eyes.append([centre[0] + radius * math.cos(e) * math.cos(theta),
                         centre[1] + radius * math.cos(e) * math.sin(theta), centre[2] + radius * math.sin(e)])
    K = intrinsics_from_fov(fov_deg, width, height)
    return Cameras(look_at(torch.tensor(eyes, dtype=torch.float64), torch.tensor(centre, dtype=torch.float64),
                           torch.tensor([0.0, 0.0, 1.0])), K.repeat(views, 1, 1), torch.full((views,), width),
                   torch.full((views,), height))


def write_capture_views(folder, views: int, width: int, height: int, scene=None, arc_deg: float = 120.0) -> Cameras:
    """Render the bundled sample scene (or ``scene``) from :func:`arc_cameras` on white into
    ``folder/view_###.png`` (created); returns the cameras (test and benchmark data with known poses)."""
    from core.io.images import save_image
    from core.scenes import scenes_dir
    from stylize3d.splats.ply import read_ply
    from stylize3d.splats.render import render_all

    folder = Path(folder)
    scene = read_ply(scenes_dir() / "splats" / "sample_scene.ply") if scene is None else scene
    cameras = arc_cameras(views, width, height, arc_deg)
    for start in range(0, views, 4):
        rgb = render_all(scene, cameras[start:start + 4], width, height, background=(1.0, 1.0, 1.0),
                         backend="torch").rgb
        for k in range(len(rgb)):
            save_image(rgb[k:k + 1], folder / f"view_{start + k:03d}.png")
    return cameras


def view_index(file_path: str) -> int:
    """The number in a ``.../view_012.png`` file name (frames keep their picture's name through capture)."""
    return int(Path(file_path).stem.split("_")[-1])
