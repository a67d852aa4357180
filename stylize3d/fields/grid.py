"""A dense-grid radiance field (DVGO / Plenoxels style): the container, its grid lookups and its resampling.

The field lives in an axis-aligned box ``box_min .. box_max`` (world units) sampled by two dense grids of the
same resolution ``D,H,W`` (z, y, x voxels; grid corners on the box corners, trilinear interpolation):

* ``density`` ``1,1,D,H,W`` raw values; volume density ``σ = softplus(raw + density_shift)`` per world unit.
* ``colour`` ``1,3K,D,H,W`` SH coefficients (``K = (sh_degree+1)^2``, channel ``3k + c`` is coefficient ``k`` of
  colour ``c``); the colour seen along direction ``d`` is ``sigmoid(Σ_k Y_k(d) · coeff_k)`` (basis:
  :mod:`stylize3d.sh`).
* ``occupancy`` ``D,H,W`` bool: voxels that may hold density; samples elsewhere are skipped (empty space).

With ``contracted`` the box is the inner unit cube of a mip-NeRF 360 style contraction (normalised coordinates
``x' = (x - centre) / half_size``; points with ``|x'|∞ > 1`` are mapped to ``(2 - 1/|x'|∞) x'/|x'|∞``) and the
grids cover ``[-2, 2]^3`` of the contracted space, so unbounded captures keep their background.

The scene box a fit starts from comes from :mod:`stylize3d.fields.bounds`, the file format from
:mod:`stylize3d.fields.io`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import ClassVar, Optional

import torch
import torch.nn.functional as F

from core.errors import InputError
from stylize3d.sh import SH_C0, eval_sh

BYTES_PER_VOXEL_CHANNEL_FIT = 16
"""float32 value + gradient + two Adam moments: the memory one grid channel costs per voxel while fitting."""


@dataclasses.dataclass
class RadianceField:
    """See the module docstring. ``background`` is the colour the field was fitted against (None: unknown)."""

    representation: ClassVar[str] = "field"
    """Its entry in :mod:`stylize3d.representations`."""

    density: torch.Tensor
    colour: torch.Tensor
    occupancy: torch.Tensor
    box_min: torch.Tensor
    box_max: torch.Tensor
    density_shift: float
    contracted: bool = False
    background: Optional[tuple] = None

    def __post_init__(self) -> None:
        if self.density.ndim != 5 or self.density.shape[:2] != (1, 1):
            raise ValueError(f"density has shape {tuple(self.density.shape)}, expected 1,1,D,H,W")
        res = tuple(self.density.shape[2:])
        if self.colour.ndim != 5 or tuple(self.colour.shape[2:]) != res or self.colour.shape[1] % 3:
            raise ValueError(f"colour has shape {tuple(self.colour.shape)}, expected 1,3K,{res}")
        k = self.colour.shape[1] // 3
        if k not in (1, 4, 9):
            raise ValueError(f"colour holds {k} SH coefficients per channel; degrees 0-2 (1, 4, 9) are supported")
        if tuple(self.occupancy.shape) != res:
            raise ValueError(f"occupancy has shape {tuple(self.occupancy.shape)}, expected {res}")

    @property
    def resolution(self) -> tuple[int, int, int]:
        """``(D, H, W)``: voxels along z, y, x."""
        return tuple(self.density.shape[2:])

    @property
    def sh_degree(self) -> int:
        return math.isqrt(self.colour.shape[1] // 3) - 1

    @property
    def device(self) -> torch.device:
        return self.density.device

    @property
    def grid_min(self) -> torch.Tensor:
        """Lower corner of the grids (world units, or contracted units when ``contracted``)."""
        return torch.full_like(self.box_min, -2.0) if self.contracted else self.box_min

    @property
    def grid_max(self) -> torch.Tensor:
        return torch.full_like(self.box_max, 2.0) if self.contracted else self.box_max

    @property
    def voxel_size(self) -> float:
        """Mean voxel edge in grid units (world units for an uncontracted field)."""
        extent = (self.grid_max - self.grid_min).double()
        cells = torch.tensor(self.resolution[::-1], dtype=torch.float64) - 1
        return float((extent / cells).mean())

    def bounds(self, quantile: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
        """Robust world bounds ``(low 3, high 3)`` of the occupied voxels (like ``GaussianScene.bounds``)."""
        return occupied_bounds(self, self.occupancy, margin=0, outliers=quantile)

    def to(self, device) -> "RadianceField":
        return dataclasses.replace(self, density=self.density.to(device), colour=self.colour.to(device),
                                   occupancy=self.occupancy.to(device), box_min=self.box_min.to(device),
                                   box_max=self.box_max.to(device))

    def detached_clone(self) -> "RadianceField":
        return dataclasses.replace(self, density=self.density.detach().clone(), colour=self.colour.detach().clone(),
                                   occupancy=self.occupancy.clone())

    def to_grid(self, points: torch.Tensor) -> torch.Tensor:
        """World points ``N,3`` → normalised grid coordinates ``N,3`` in [-1, 1] inside (x, y, z order)."""
        centre = (self.box_min + self.box_max) / 2
        half = (self.box_max - self.box_min) / 2
        if self.contracted:
            x = (points - centre) / half
            norm = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-9)
            x = torch.where(norm > 1, (2 - 1 / norm) * x / norm, x)
            return x / 2
        return (points - centre) / half

    def lookup(self, points: torch.Tensor) -> "GridLookup":
        """Where world points ``N,3`` fall in the grids; pass it to :meth:`sigma` and :meth:`rgb` in place of the
        points to share the work between the two lookups."""
        return grid_lookup(self.resolution, self.to_grid(points).to(self.density.dtype), self.density.is_cuda)

    def sigma(self, points: "torch.Tensor | GridLookup") -> torch.Tensor:
        """Volume density ``N`` (per world unit for an uncontracted field) at world points ``N,3`` (or their
        :meth:`lookup`)."""
        raw = _sample(self.density, points if isinstance(points, GridLookup) else self.lookup(points))[:, 0]
        return F.softplus(raw + self.density_shift)

    def rgb(self, points: "torch.Tensor | GridLookup", dirs: torch.Tensor) -> torch.Tensor:
        """Colour ``N,3`` in (0,1) at world points ``N,3`` (or their :meth:`lookup`) seen along directions ``N,3``
        (any length)."""
        coeffs = _sample(self.colour, points if isinstance(points, GridLookup) else self.lookup(points))  # N,3K
        k = coeffs.shape[1] // 3
        if k == 1:
            return torch.sigmoid(coeffs * SH_C0)
        return torch.sigmoid(eval_sh(self.sh_degree, dirs, coeffs.view(-1, k, 3)))

    def occupied(self, points: torch.Tensor) -> torch.Tensor:
        """``N`` bool: the nearest voxel of each world point is occupied (points outside the grid: False)."""
        g = self.to_grid(points)
        inside = (g.abs() <= 1).all(dim=-1)
        d, h, w = self.resolution
        scale = torch.tensor([(w - 1) / 2, (h - 1) / 2, (d - 1) / 2], device=g.device, dtype=g.dtype)
        idx = ((g + 1) * scale).round_().long()
        lin = ((idx[:, 2] * h + idx[:, 1]) * w + idx[:, 0]).clamp_(0, d * h * w - 1)
        return inside & self.occupancy.reshape(-1).take(lin)

    def voxel_centres(self) -> torch.Tensor:
        """``D,H,W,3`` world (or contracted-space) positions of the grid points."""
        axes = [torch.linspace(float(lo), float(hi), n, device=self.device)
                for lo, hi, n in zip(self.grid_min, self.grid_max, self.resolution[::-1])]
        z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
        return torch.stack([x, y, z], dim=-1)


@dataclasses.dataclass
class GridLookup:
    """Where ``N`` points fall in a field's grids (density and colour share one resolution, so one lookup serves
    both): on the CPU the linear indices ``index`` ``N,8`` of the 8 grid points around each point in the
    flattened grid and their trilinear weights ``weight`` ``N,8``; on CUDA the normalised coordinates ``coords``
    ``N,3`` for ``grid_sample``. Indexing with a ``M`` long tensor keeps those rows."""

    index: Optional[torch.Tensor] = None
    weight: Optional[torch.Tensor] = None
    coords: Optional[torch.Tensor] = None

    def __getitem__(self, rows: torch.Tensor) -> "GridLookup":
        return GridLookup(*(None if v is None else v.index_select(0, rows)
                            for v in (self.index, self.weight, self.coords)))


def grid_lookup(resolution: tuple, coords: torch.Tensor, cuda: bool) -> GridLookup:
    """The :class:`GridLookup` of normalised ``coords`` ``N,3`` (x, y, z in [-1,1]) in a ``D,H,W`` grid."""
    if cuda:  # grid_sample's CUDA kernels are fast
        return GridLookup(coords=coords)
    return GridLookup(*_corners(resolution, coords))


def _sample(grid: torch.Tensor, at: GridLookup) -> torch.Tensor:
    """Trilinear samples ``N,C`` of ``grid`` ``1,C,D,H,W`` at the points of ``at``, as
    ``F.grid_sample(..., align_corners=True, padding_mode="border")``."""
    if at.coords is not None:
        out = F.grid_sample(grid, at.coords.view(1, 1, 1, -1, 3).to(grid.dtype), mode="bilinear",
                            padding_mode="border", align_corners=True)
        return out.view(grid.shape[1], -1).T
    return _CornerGather.apply(grid.reshape(grid.shape[1], -1), at.index, at.weight)


def _trilinear(grid: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Trilinear samples ``N,C`` of ``grid`` ``1,C,D,H,W`` at normalised ``coords`` ``N,3`` (x, y, z in [-1,1];
    corners aligned; outside: border values), as ``F.grid_sample(..., align_corners=True, padding_mode="border")``.

    On the CPU it gathers the 8 corners from the flattened grid; the backward scatters into it with
    ``index_add_`` (:class:`_CornerGather`): several times faster than ``grid_sample``'s 3D backward, which runs
    on one thread per batch item."""
    return _sample(grid, grid_lookup(grid.shape[2:], coords.to(grid.dtype), grid.is_cuda))


def _corners(resolution, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(index N,8, weight N,8)``: linear indices into a flattened ``D,H,W`` grid of the 8 corners around each
    normalised point ``N,3`` and their trilinear weights (points clamped to the grid: border padding)."""
    d, h, w = resolution
    top = torch.tensor([w - 1, h - 1, d - 1], dtype=coords.dtype, device=coords.device)
    u = torch.minimum(((coords + 1) * (top / 2)).clamp_min_(0), top)
    low = torch.minimum(u.floor(), (top - 1).clamp_min(0))
    f = u - low
    low = low.long()
    base = (low[:, 2] * h + low[:, 1]) * w + low[:, 0]
    dx, dy, dz = int(w > 1), w * int(h > 1), h * w * int(d > 1)
    offsets = torch.tensor([0, dx, dy, dy + dx, dz, dz + dx, dz + dy, dz + dy + dx], device=coords.device)
    fx, fy, fz = f.unbind(1)
    wxy = (torch.stack([1 - fy, fy], 1)[:, :, None] * torch.stack([1 - fx, fx], 1)[:, None, :]).reshape(-1, 4)
    weights = (torch.stack([1 - fz, fz], 1)[:, :, None] * wxy[:, None, :]).reshape(-1, 8)
    return base[:, None] + offsets, weights


def gather_corners(flat: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``Σ_k weight[n,k] · flat[:, index[n,k]]`` → ``N,C``: trilinear samples of a flattened grid ``flat`` ``C,V``
    at the corners ``index`` ``N,8`` with weights ``weight`` ``N,8`` (a CPU :class:`GridLookup`); no autograd."""
    values = flat.index_select(1, index.reshape(-1)).view(flat.shape[0], *index.shape)  # C,N,8
    return torch.einsum("cnk,nk->nc", values, weight)  # a batched product: faster than multiply-and-sum


def scatter_corners_(grad_flat: torch.Tensor, grad: torch.Tensor, index: torch.Tensor,
                     weight: torch.Tensor) -> torch.Tensor:
    """The transpose of :func:`gather_corners`: adds ``weight[n,k] · grad[n]`` (``grad`` ``N,C``) into
    ``grad_flat`` ``C,V`` at ``index[n,k]``, in place; returns ``grad_flat``."""
    spread = (grad.T.contiguous()[:, :, None] * weight).reshape(grad_flat.shape[0], -1)
    return grad_flat.index_add_(1, index.reshape(-1), spread)


class _CornerGather(torch.autograd.Function):
    """:func:`gather_corners`, differentiable in ``flat`` only."""

    @staticmethod
    def forward(ctx, flat: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index, weight)
        ctx.shape = flat.shape
        return gather_corners(flat, index, weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        index, weight = ctx.saved_tensors
        return scatter_corners_(grad.new_zeros(ctx.shape), grad, index, weight), None, None


# ------------------------------------------------------------------------------------------------ creation


def check_memory(resolution: tuple, channels: int, device: torch.device, what: str = "grid") -> int:
    """Bytes the grids of ``resolution`` with ``channels`` channels (density + colour) take while fitting;
    :class:`InputError` with the numbers when that exceeds 80% of the memory available on ``device``."""
    voxels = math.prod(resolution)
    need = voxels * channels * BYTES_PER_VOXEL_CHANNEL_FIT + voxels  # + occupancy
    available = available_memory(device)
    if available is not None and need > 0.8 * available:
        raise InputError(f"a {'x'.join(map(str, resolution[::-1]))} {what} with {channels} channels needs about "
                         f"{need / 2**30:.1f} GiB to fit but only {available / 2**30:.1f} GiB is available on "
                         f"{device}; use fewer --voxels")
    return need


def available_memory(device: torch.device) -> Optional[int]:
    """Free bytes on ``device`` (CUDA: free device memory; CPU: MemAvailable from /proc/meminfo), or None."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def new_field(box_min: torch.Tensor, box_max: torch.Tensor, resolution: tuple, sh_degree: int = 0,
              contracted: bool = False, alpha_init: float = 1e-4, device="cpu",
              occupancy: Optional[torch.Tensor] = None) -> RadianceField:
    """An empty field: every voxel's opacity over one voxel step is ``alpha_init``, colour grey (0.5)."""
    check_memory(resolution, 1 + 3 * (sh_degree + 1) ** 2, torch.device(device))
    field = RadianceField(torch.zeros(1, 1, *resolution, device=device),
                          torch.zeros(1, 3 * (sh_degree + 1) ** 2, *resolution, device=device),
                          torch.ones(resolution, dtype=torch.bool, device=device),
                          box_min.float().to(device), box_max.float().to(device), 0.0, contracted)
    sigma = -math.log(1 - alpha_init) / (field.voxel_size * world_per_grid(field))
    field.density_shift = math.log(math.expm1(sigma))
    if occupancy is not None:
        field.occupancy = occupancy.to(device)
    return field


def world_per_grid(field: RadianceField) -> float:
    """World units per grid unit near the centre (1 for an uncontracted field)."""
    return float(((field.box_max - field.box_min) / 2).mean()) if field.contracted else 1.0


def upsample(field: RadianceField, resolution: tuple) -> RadianceField:
    """The field resampled (trilinear) to ``resolution``; occupancy by nearest neighbour, dilated by one voxel."""
    check_memory(resolution, 1 + field.colour.shape[1], field.device)

    def up(grid):
        return F.interpolate(grid.detach(), size=resolution, mode="trilinear", align_corners=True)

    return dataclasses.replace(field, density=up(field.density), colour=up(field.colour),
                               occupancy=resample_occupancy(field.occupancy, resolution))


# ------------------------------------------------------------------------------------------------ occupancy


def resample_occupancy(occupancy: torch.Tensor, resolution: tuple) -> torch.Tensor:
    """A ``D,H,W`` bool grid carried to another ``resolution`` over the same box, conservatively: max-pooled
    into the new cells (or repeated, when finer), then dilated by one voxel of the new grid."""
    occ = occupancy[None, None].float()
    if all(a >= b for a, b in zip(occupancy.shape, resolution)):
        occ = F.adaptive_max_pool3d(occ, resolution)
    else:
        occ = F.interpolate(F.max_pool3d(occ, 3, stride=1, padding=1), size=resolution, mode="nearest")
    return F.max_pool3d(occ, 3, stride=1, padding=1)[0, 0] > 0


def occupied_bounds(field: RadianceField, occupancy: torch.Tensor, margin: int = 2,
                    outliers: float = 0.002) -> tuple[torch.Tensor, torch.Tensor]:
    """World box of the occupied grid points, ignoring the ``outliers`` fraction on each side of each axis (stray
    uncarved voxels), grown by ``margin`` voxels and kept inside the field's box; the full box when nothing is
    occupied."""
    pts = field.voxel_centres()[occupancy]
    if pts.shape[0] == 0:
        return field.box_min, field.box_max
    q = torch.tensor([outliers, 1 - outliers], device=pts.device)
    lo_hi = torch.quantile(pts[:: max(1, pts.shape[0] // 100_000)], q, dim=0)
    pad = margin * (field.box_max - field.box_min) / (torch.tensor(field.resolution[::-1], device=pts.device) - 1)
    return torch.maximum(lo_hi[0] - pad, field.box_min), torch.minimum(lo_hi[1] + pad, field.box_max)
