"""Camera paths for novel-view videos: orbit, ellipse, spiral, smooth interpolation; JSON read/write.

Every path is a :class:`~stylize3d.cameras.Cameras` batch (one camera per frame, OpenCV world-to-camera).
The camera-path JSON is our own small format (nerfstudio viewer ``camera_path.json`` files are read too)::

    {"format": "stylize3d-camera-path", "version": 1, "convention": "opencv-world-to-camera",
     "frames": [{"viewmat": 4x4, "K": 3x3, "width": W, "height": H}, ...]}
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from core.atomic import atomic_output
from core.errors import InputError
from stylize3d.cameras import Cameras, c2w_opengl_to_viewmat, intrinsics, intrinsics_from_fov, look_at
from stylize3d.datasets.transforms_json import (check_focal, check_image_size, check_rigid, focal_from_fov, parse_matrix,
                                                read_json)
from stylize3d.rotations import quat_to_rotmat, rotmat_to_quat, slerp

PATH_FORMAT = "stylize3d-camera-path"


def _basis(up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two unit vectors spanning the plane orthogonal to ``up`` plus ``up`` itself (float64)."""
    up = torch.nn.functional.normalize(up.to(torch.float64), dim=0)
    helper = torch.tensor([1.0, 0, 0], dtype=torch.float64)
    if abs(float(up @ helper)) > 0.9:
        helper = torch.tensor([0.0, 1, 0], dtype=torch.float64)
    e1 = torch.nn.functional.normalize(helper - (helper @ up) * up, dim=0)
    return e1, torch.linalg.cross(up, e1), up


def _cameras_looking_at(eyes: torch.Tensor, center: torch.Tensor, up: torch.Tensor,
                        fov_deg: float, width: int, height: int) -> Cameras:
    n = eyes.shape[0]
    K = intrinsics_from_fov(fov_deg, width, height)
    return Cameras(look_at(eyes, center.to(torch.float64), up), K.repeat(n, 1, 1),
                   torch.full((n,), width), torch.full((n,), height))


def ellipse(center: torch.Tensor, radius_a: float, radius_b: float, elevation_deg: float, frames: int,
            up: torch.Tensor = torch.tensor([0.0, 0.0, 1.0]), fov_deg: float = 50.0,
            width: int = 256, height: int = 256, phase_deg: float = 0.0) -> Cameras:
    """Cameras on an ellipse (semi-axes ``radius_a``, ``radius_b``) around ``center``, looking at it.

    The ellipse lies in a plane orthogonal to ``up``, raised so that the view direction is depressed by
    ``elevation_deg`` for a circular orbit. ``frames`` views, equally spaced in angle, not repeating the first.
    """
    e1, e2, upn = _basis(up)
    theta = torch.arange(frames, dtype=torch.float64) * (2 * math.pi / frames) + math.radians(phase_deg)
    horizontal = torch.cos(theta)[:, None] * radius_a * e1 + torch.sin(theta)[:, None] * radius_b * e2
    dist = horizontal.norm(dim=1, keepdim=True)
    lift = dist * math.tan(math.radians(elevation_deg))
    eyes = center.to(torch.float64) + horizontal + lift * upn
    return _cameras_looking_at(eyes, center, upn, fov_deg, width, height)


def orbit(center: torch.Tensor, radius: float, elevation_deg: float, frames: int, **kwargs) -> Cameras:
    """Circular orbit: :func:`ellipse` with equal semi-axes."""
    return ellipse(center, radius, radius, elevation_deg, frames, **kwargs)


def spiral(center: torch.Tensor, radius: float, frames: int, turns: float = 2.0,
           elevation_range_deg: tuple[float, float] = (10.0, 40.0), radius_swing: float = 0.15,
           up: torch.Tensor = torch.tensor([0.0, 0.0, 1.0]), fov_deg: float = 50.0,
           width: int = 256, height: int = 256) -> Cameras:
    """A spiral: ``turns`` revolutions while the elevation goes from low to high and back, the radius
    breathing by ``±radius_swing`` (relative)."""
    e1, e2, upn = _basis(up)
    s = torch.arange(frames, dtype=torch.float64) / frames
    theta = 2 * math.pi * turns * s
    lo, hi = (math.radians(v) for v in elevation_range_deg)
    elevation = lo + (hi - lo) * 0.5 * (1 - torch.cos(2 * math.pi * s))
    r = radius * (1 + radius_swing * torch.sin(2 * math.pi * s))
    eyes = (center.to(torch.float64) + (r * torch.cos(elevation) * torch.cos(theta))[:, None] * e1
            + (r * torch.cos(elevation) * torch.sin(theta))[:, None] * e2
            + (r * torch.sin(elevation))[:, None] * upn)
    return _cameras_looking_at(eyes, center, upn, fov_deg, width, height)


def interpolate(keys: Cameras, frames: int) -> Cameras:
    """A smooth path through the key cameras in order: Catmull-Rom positions, slerped rotations,
    linearly blended intrinsics. The first and last frames equal the first and last keys."""
    if len(keys) < 2:
        raise InputError("interpolating a camera path needs at least two key cameras")
    if frames < 2:
        raise InputError("an interpolated camera path needs at least two frames")
    centers = keys.centers().to(torch.float64)
    quats = rotmat_to_quat(keys.viewmats[:, :3, :3].transpose(1, 2))  # camera-to-world rotations
    padded = torch.cat([2 * centers[:1] - centers[1:2], centers, 2 * centers[-1:] - centers[-2:-1]])
    u = torch.linspace(0, len(keys) - 1, frames, dtype=torch.float64)
    seg = torch.clamp(u.floor().long(), max=len(keys) - 2)
    t = (u - seg)[:, None]
    p0, p1, p2, p3 = padded[seg], padded[seg + 1], padded[seg + 2], padded[seg + 3]
    pos = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
    rot_c2w = quat_to_rotmat(slerp(quats[seg], quats[seg + 1], t))
    view = torch.eye(4, dtype=torch.float64).repeat(frames, 1, 1)
    view[:, :3, :3] = rot_c2w.transpose(1, 2)
    view[:, :3, 3] = -(view[:, :3, :3] @ pos[..., None])[..., 0]
    K = keys.Ks[seg] * (1 - t[..., None].float()) + keys.Ks[seg + 1] * t[..., None].float()
    return Cameras(view.float(), K, keys.widths[seg], keys.heights[seg])


def write_camera_path(cameras: Cameras, path: "str | os.PathLike") -> None:
    """Write ``cameras`` as a camera-path JSON (atomically)."""
    frames = [{"viewmat": cameras.viewmats[i].tolist(), "K": cameras.Ks[i].tolist(),
               "width": int(cameras.widths[i]), "height": int(cameras.heights[i])} for i in range(len(cameras))]
    doc = {"format": PATH_FORMAT, "version": 1, "convention": "opencv-world-to-camera", "frames": frames}
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def _frame_list(doc: dict, key: str, path: Path) -> list:
    frames = doc.get(key)
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{path}: the camera path has no frames ('{key}' must be a non-empty list)")
    if not all(isinstance(f, dict) for f in frames):
        raise InputError(f"{path}: every entry of '{key}' must be a JSON object")
    return frames


def _nerfstudio_viewer_path(doc: dict, path: Path) -> Cameras:
    """Cameras of a nerfstudio viewer ``camera_path.json``: ``render_width``/``render_height`` and a
    ``camera_path`` list of ``camera_to_world`` (16 numbers, OpenGL) with a vertical ``fov`` in degrees."""
    width, height = check_image_size(doc.get("render_width"), doc.get("render_height"), str(path))
    c2ws, Ks = [], []
    for i, frame in enumerate(_frame_list(doc, "camera_path", path)):
        where = f"{path} camera_path[{i}]"
        c2w = parse_matrix(frame.get("camera_to_world"), where, "camera_to_world")
        check_rigid(c2w, where)
        fov = frame.get("fov")
        if isinstance(fov, (int, float)) and not isinstance(fov, bool) and not 0 < fov < 180:
            raise InputError(f"{where}: fov {fov} must be in (0, 180) degrees")
        fy = focal_from_fov(math.radians(fov) if isinstance(fov, (int, float)) else fov, "fov", height, where)
        c2ws.append(c2w)
        Ks.append(intrinsics(fy, fy, width / 2, height / 2))
    n = len(Ks)
    return Cameras(c2w_opengl_to_viewmat(torch.stack(c2ws)), torch.stack(Ks), torch.full((n,), width),
                   torch.full((n,), height))


def _own_path(doc: dict, path: Path) -> Cameras:
    viewmats, Ks, widths, heights = [], [], [], []
    for i, frame in enumerate(_frame_list(doc, "frames", path)):
        where = f"{path} frame {i}"
        viewmat = parse_matrix(frame.get("viewmat"), where, "viewmat")
        check_rigid(viewmat, where)
        try:
            K = torch.tensor(frame.get("K"), dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise InputError(f"{where}: K is not a numeric 3x3 matrix") from None
        if K.shape != (3, 3) or not torch.isfinite(K.to(torch.float32)).all() or K[2].tolist() != [0.0, 0.0, 1.0]:
            raise InputError(f"{where}: K must be a finite 3x3 pinhole matrix with last row 0 0 1")
        check_focal(float(K[0, 0]), "K[0][0]", where)
        check_focal(float(K[1, 1]), "K[1][1]", where)
        width, height = check_image_size(frame.get("width"), frame.get("height"), where)
        viewmats.append(viewmat)
        Ks.append(K)
        widths.append(width)
        heights.append(height)
    return Cameras(torch.stack(viewmats).float(), torch.stack(Ks).float(), torch.tensor(widths), torch.tensor(heights))


def read_camera_path(path: "str | os.PathLike") -> Cameras:
    """Read a camera-path JSON written by :func:`write_camera_path`, or a nerfstudio viewer ``camera_path.json``;
    :class:`InputError` when malformed (poses must be rigid, focal lengths positive, sizes within
    ``MAX_IMAGE_SIDE``)."""
    path = Path(path)
    doc = read_json(path, "camera path")
    if isinstance(doc, dict) and "camera_path" in doc:
        cameras = _nerfstudio_viewer_path(doc, path)
    elif isinstance(doc, dict) and doc.get("format") == PATH_FORMAT:
        cameras = _own_path(doc, path)
    else:
        raise InputError(f"{path} is neither a {PATH_FORMAT} file nor a nerfstudio camera_path.json")
    if not torch.isfinite(cameras.viewmats).all():
        raise InputError(f"{path}: camera positions overflow float32")
    return cameras


PATH_KINDS = ("orbit", "ellipse", "spiral")
ELLIPSE_ASPECT = 0.7
"""Minor/major semi-axis ratio of the fitted ``ellipse`` path."""


def _nearest_point_to_axes(origins: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Least-squares point closest to the lines ``origins + s·dirs`` (``B,3`` each, float64)."""
    eye = torch.eye(3, dtype=torch.float64)
    proj = eye - dirs[:, :, None] * dirs[:, None, :]
    return torch.linalg.lstsq(proj.sum(0), (proj @ origins[..., None]).sum(0)).solution[:, 0]


def path_around(kind: str, frames: int, width: int, height: int, scene=None, cameras: Cameras | None = None,
                up: torch.Tensor | None = None, fov_deg: float = 50.0, elevation_deg: float | None = None) -> Cameras:
    """An ``orbit``, ``ellipse`` (semi-axes r and 0.7 r) or ``spiral`` fitted to the training ``cameras`` when
    given (centre: the point nearest to all optical axes; radius, elevation, field of view and up direction from
    the cameras), else to the ``scene``'s robust bounds (centre of the 2-98 % box, radius 0.6 × its diagonal,
    elevation 25°, ``up`` default +z). ``elevation_deg`` overrides the fitted elevation."""
    if kind not in PATH_KINDS:
        raise InputError(f"unknown camera path {kind!r}: use {', '.join(PATH_KINDS)} or a camera-path .json file")
    if frames < 2:
        raise InputError(f"a camera path needs at least 2 frames, got {frames}")
    if up is not None:
        up = torch.nn.functional.normalize(up.to(torch.float64), dim=0)
    if cameras is not None and len(cameras) >= 2:
        origins = cameras.centers().to(torch.float64)
        centre = _nearest_point_to_axes(origins, cameras.forward_dirs().to(torch.float64))
        up_dir = torch.nn.functional.normalize(cameras.up_dirs().to(torch.float64).mean(0), dim=0) if up is None else up
        offset = origins - centre
        height_up = offset @ up_dir
        radius = float((offset - height_up[:, None] * up_dir).norm(dim=1).median())
        elevation = float(torch.rad2deg(torch.atan2(height_up.median(), torch.tensor(radius, dtype=torch.float64))))
        fx = float(cameras.Ks[0, 0, 0])
        fov_deg = float(2 * torch.rad2deg(torch.atan(torch.tensor(0.5 * float(cameras.widths[0]) / fx))))
    elif scene is not None:
        lo, hi = scene.bounds()
        centre = ((lo + hi) / 2).to(torch.float64)
        radius = 0.6 * float((hi - lo).norm())
        elevation, up_dir = 25.0, torch.tensor([0.0, 0.0, 1.0]) if up is None else up
    else:
        raise ValueError("path_around needs a scene or cameras")
    if elevation_deg is not None:
        elevation = float(elevation_deg)
    common = dict(up=up_dir.float(), fov_deg=fov_deg, width=width, height=height)
    if kind == "orbit":
        return orbit(centre.float(), radius, elevation, frames, **common)
    if kind == "ellipse":
        return ellipse(centre.float(), radius, ELLIPSE_ASPECT * radius, elevation, frames, **common)
    return spiral(centre.float(), radius, frames, turns=2.0,
                  elevation_range_deg=(max(5.0, elevation - 15), elevation + 15), **common)
