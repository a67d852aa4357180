"""The camera model: pinhole cameras in the OpenCV convention and the conversions to and from OpenGL poses.

Inside the package a camera is a world-to-camera ``viewmat`` (4x4; camera x right, y down, z forward) and a
pinhole ``K`` (3x3) for an image of ``width x height`` pixels. nerfstudio / Blender files store camera-to-world
matrices in the OpenGL convention (y up, -z forward); they are converted with
``viewmat = inv(c2w @ diag(1, -1, -1, 1))``. Reading cameras from ``transforms.json`` files is
:mod:`stylize3d.datasets.transforms_json`.
"""

from __future__ import annotations

import dataclasses
import math

import torch

OPENGL_TO_OPENCV = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))


@dataclasses.dataclass
class Cameras:
    """A batch of B pinhole cameras.

    Attributes:
        viewmats: ``B,4,4`` float32 world-to-camera matrices (OpenCV convention).
        Ks: ``B,3,3`` float32 intrinsics for images of ``widths[i] x heights[i]`` pixels.
        widths, heights: ``B`` int64 image sizes the intrinsics refer to.
    """

    viewmats: torch.Tensor
    Ks: torch.Tensor
    widths: torch.Tensor
    heights: torch.Tensor

    def __post_init__(self) -> None:
        b = self.viewmats.shape[0]
        if self.viewmats.shape != (b, 4, 4) or self.Ks.shape != (b, 3, 3):
            raise ValueError(f"viewmats {tuple(self.viewmats.shape)} / Ks {tuple(self.Ks.shape)} are not B,4,4 / B,3,3")
        if self.widths.shape != (b,) or self.heights.shape != (b,):
            raise ValueError("widths and heights must have one entry per camera")

    def __len__(self) -> int:
        return self.viewmats.shape[0]

    def __getitem__(self, index) -> "Cameras":
        """A sub-batch (``index`` is an int, slice, list or index tensor)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Cameras(self.viewmats[index], self.Ks[index], self.widths[index], self.heights[index])

    def to(self, device: "torch.device | str") -> "Cameras":
        return Cameras(self.viewmats.to(device), self.Ks.to(device), self.widths.cpu(), self.heights.cpu())

    def scaled_to(self, width: int, height: int) -> "Cameras":
        """The same views with intrinsics rescaled to images of ``width x height`` pixels."""
        sx = width / self.widths.to(self.Ks)
        sy = height / self.heights.to(self.Ks)
        Ks = self.Ks.clone()
        Ks[:, 0] *= sx[:, None]
        Ks[:, 1] *= sy[:, None]
        n = len(self)
        return Cameras(self.viewmats, Ks, torch.full((n,), width), torch.full((n,), height))

    def size_for(self, long_side: int, even: bool = False) -> tuple[int, int]:
        """``(width, height)`` with the first camera's aspect ratio and ``long_side`` pixels on the long side;
        ``even`` rounds both to even numbers (H.264 needs them). At least 8 pixels each."""
        w, h = int(self.widths[0]), int(self.heights[0])
        scale = long_side / max(w, h)
        step = 2 if even else 1
        return max(8, step * round(w * scale / step)), max(8, step * round(h * scale / step))

    def centers(self) -> torch.Tensor:
        """``B,3`` camera positions in world coordinates."""
        R, t = self.viewmats[:, :3, :3], self.viewmats[:, :3, 3:]
        return -(R.transpose(1, 2) @ t)[..., 0]

    def forward_dirs(self) -> torch.Tensor:
        """``B,3`` unit viewing directions (camera +z) in world coordinates."""
        return self.viewmats[:, 2, :3]

    def up_dirs(self) -> torch.Tensor:
        """``B,3`` unit 'up' directions (camera -y) in world coordinates."""
        return -self.viewmats[:, 1, :3]


def cat_cameras(items: list[Cameras]) -> Cameras:
    """Concatenate camera batches."""
    return Cameras(*(torch.cat([getattr(c, f.name) for c in items]) for f in dataclasses.fields(Cameras)))


def intrinsics(fx: float, fy: float, cx: float, cy: float) -> torch.Tensor:
    """The 3x3 pinhole matrix."""
    return torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=torch.float32)


def intrinsics_from_fov(fov_x_deg: float, width: int, height: int) -> torch.Tensor:
    """Pinhole ``K`` with square pixels, principal point at the centre, horizontal field of view in degrees."""
    fx = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2)
    return intrinsics(fx, fx, width / 2, height / 2)


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """World-to-camera ``B,4,4`` (OpenCV) for cameras at ``eye`` (B,3) looking at ``target`` (B,3 or 3).

    ``up`` (3) is the world direction that appears upward in the image.
    """
    eye = eye.to(torch.float64)
    forward = torch.nn.functional.normalize(target.to(eye) - eye, dim=-1)
    right = torch.linalg.cross(forward, up.to(eye).expand_as(forward), dim=-1)
    right = torch.nn.functional.normalize(right, dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    rot = torch.stack([right, down, forward], dim=1)  # rows: camera axes in world coordinates
    view = torch.eye(4, dtype=eye.dtype).repeat(eye.shape[0], 1, 1)
    view[:, :3, :3] = rot
    view[:, :3, 3] = -(rot @ eye[..., None])[..., 0]
    return view.to(torch.float32)


def c2w_opengl_to_viewmat(c2w: torch.Tensor) -> torch.Tensor:
    """``B,4,4`` OpenGL camera-to-world → OpenCV world-to-camera: ``inv(c2w @ diag(1,-1,-1,1))``."""
    return torch.linalg.inv(c2w.to(torch.float64) @ OPENGL_TO_OPENCV).to(torch.float32)


def viewmat_to_c2w_opengl(viewmats: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`c2w_opengl_to_viewmat`."""
    return (torch.linalg.inv(viewmats.to(torch.float64)) @ OPENGL_TO_OPENCV).to(torch.float32)
