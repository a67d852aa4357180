"""viser camera <-> :class:`~stylize3d.cameras.Cameras`.

viser follows OpenCV axes (x right, y down, z forward) like we do: a client camera is ``wxyz``, the rotation
``R`` of camera-to-world (``p_world = R p_camera + position``), its ``position`` and a *vertical* field of view
``fov`` in radians. Our camera is the world-to-camera ``viewmat = inv([R | position])`` with a pinhole ``K``
(square pixels, principal point at the image centre here).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from stylize3d.cameras import Cameras
from stylize3d.rotations import quat_to_rotmat, rotmat_to_quat


def camera_from_viser(wxyz, position, fov_y: float, width: int, height: int) -> Cameras:
    """One :class:`Cameras` entry for a viser pose: ``wxyz`` (4), ``position`` (3), vertical ``fov_y`` (radians)
    seen on an image of ``width x height`` pixels."""
    rot = quat_to_rotmat(torch.as_tensor(np.asarray(wxyz, dtype=np.float64)))
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, :3] = rot
    c2w[:3, 3] = torch.as_tensor(np.asarray(position, dtype=np.float64))
    viewmat = torch.linalg.inv(c2w).to(torch.float32)
    fy = 0.5 * height / math.tan(fov_y / 2)
    K = torch.tensor([[fy, 0.0, width / 2], [0.0, fy, height / 2], [0.0, 0.0, 1.0]], dtype=torch.float32)
    return Cameras(viewmat[None], K[None], torch.tensor([int(width)]), torch.tensor([int(height)]))


def viser_pose(cameras: Cameras, index: int = 0) -> dict:
    """viser's ``wxyz``, ``position`` (numpy float64), vertical ``fov`` (radians) and ``aspect`` (width/height) of
    camera ``index`` (a principal point off the centre is not representable in viser and is dropped)."""
    view = cameras.viewmats[index].to(torch.float64)
    rot_c2w = view[:3, :3].T
    position = -(rot_c2w @ view[:3, 3])
    wxyz = rotmat_to_quat(rot_c2w)
    height, width = int(cameras.heights[index]), int(cameras.widths[index])
    fov = 2 * math.atan(0.5 * height / float(cameras.Ks[index, 1, 1]))
    return {"wxyz": wxyz.numpy(), "position": position.numpy(), "fov": fov, "aspect": width / height}
