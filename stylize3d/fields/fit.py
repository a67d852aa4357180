"""Fit a :class:`~stylize3d.fields.grid.RadianceField` to posed images (DVGO-style dense grids, pure PyTorch).

Each step renders a random batch of training rays (samples every ``sample_step`` voxels, one random offset per
ray: stratified sampling; every sample in front of transmittance ``transmittance_threshold`` is shaded, so faint
density gets gradients, and the samples behind it are cut before autograd sees them: early ray termination)
and minimises ``MSE(rgb, target) + tv_density·TV(density) + tv_colour·TV(colour) + sparsity·mean(log(1 + 2σ²))``
(TV over a random 48³ block of the grid per step; the last term is Plenoxels' Cauchy sparsity prior on the
sampled densities) with Adam, the learning rate decaying exponentially to ``lr_final_ratio`` of its start.
Without alpha masks the background colour is learnt too; with them (``random_background``) each training ray is
composited on a random colour, target and render alike, so that empty space has to be transparent rather than
white fog. Coarse to fine: the grids start with ``voxels / 8**levels`` points and are upsampled (trilinear) at
the fractions ``upsample_at`` of the fit, up to ``voxels``. "Fraction of the fit" is
:meth:`stylize3d.fit_budget.FitBudget.progress`: that of the steps, or of the wall-clock budget ``minutes`` when
one is given and it runs out first (the schedules then spread over the budget).

Scene box: a cube around the cameras (:func:`~stylize3d.fields.bounds.box_from_cameras`); with alpha masks the
box is shrunk to the visual hull of the masks and the hull seeds the occupancy grid. The occupancy grid is
re-derived from the density every ``occupancy_every`` steps (voxels whose opacity over one sample step is below
``occupancy_threshold`` anywhere in their 3x3x3 neighbourhood become empty) and only shrinks.

Held-out views are scored by :func:`evaluate` (PSNR and SSIM of :mod:`core.metrics`), for the PSNR-vs-time curve
and the fit command's report.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from tqdm import tqdm

from core.errors import InputError
from core.metrics import psnr, psnr_from_mse, ssim
from core.optimize import Checkpoint
from stylize3d.datasets.posed import PosedDataset
from stylize3d.fit_budget import MINUTES_HELP, FitBudget, check_minutes
from stylize3d.fields.bounds import box_from_cameras, resolution_for, visual_hull
from stylize3d.fields.grid import (RadianceField, new_field, occupied_bounds, resample_occupancy, upsample,
                                   world_per_grid)
from stylize3d.fields.render import STEP_RATIO, camera_rays, render_field, render_rays


HULL_PROBE_VOXELS = 64 ** 3
"""Grid points of the visual-hull probe that shrinks the box to the masks (at most 8x the final grid's)."""
TV_BLOCK = 48
"""Side of the random grid block the TV regularisers see each step."""


@dataclasses.dataclass
class FieldFitConfig:
    """Settings of :func:`fit_field`."""

    steps: int = dataclasses.field(default=3000, metadata={"help": "optimisation steps (one ray batch each)"})
    minutes: Optional[float] = dataclasses.field(default=None, metadata={"help": MINUTES_HELP})
    voxels: int = dataclasses.field(default=160 ** 3, metadata={"help": "grid points of the final grid"})
    levels: int = dataclasses.field(default=2, metadata={"help": "coarse-to-fine upsamplings (each x8 voxels)"})
    upsample_at: Tuple[float, ...] = dataclasses.field(default=(0.15, 0.35), metadata={
        "help": "fractions of the steps at which the grid is upsampled (one per level)"})
    batch_rays: int = dataclasses.field(default=4096, metadata={"help": "random training rays per step"})
    lr: float = dataclasses.field(default=0.1, metadata={"help": "Adam learning rate of the grids"})
    lr_final_ratio: float = dataclasses.field(default=0.1, metadata={"help": "learning rate at the end / at the start"})
    sh_degree: int = dataclasses.field(default=0, metadata={"help": "SH degree of the colour grid (0-2)"})
    tv_density: float = dataclasses.field(default=1e-4, metadata={"help": "TV weight on the density grid"})
    tv_colour: float = dataclasses.field(default=1e-5, metadata={"help": "TV weight on the colour grid"})
    sparsity: float = dataclasses.field(default=1e-5, metadata={"help": "Cauchy sparsity weight on sampled densities"})
    sample_step: float = dataclasses.field(default=1.0, metadata={
        "help": "sample spacing in voxels while fitting (rendering uses half a voxel)"})
    transmittance_threshold: float = dataclasses.field(default=1e-2, metadata={
        "help": "early ray termination while fitting: samples behind this transmittance are skipped"})
    occupancy_every: int = dataclasses.field(default=100, metadata={"help": "steps between occupancy-grid updates"})
    occupancy_threshold: float = dataclasses.field(default=2e-4, metadata={
        "help": "opacity over one sample step below which a voxel is empty"})
    box_scale: float = dataclasses.field(default=1.0, metadata={
        "help": "half-size of the scene cube relative to the median camera distance to the focus point"})
    random_background: bool = dataclasses.field(default=True, metadata={
        "help": "with alpha masks: composite each training ray on a random background colour (empty space must "
                "then be transparent, not merely white)"})
    contract: bool = dataclasses.field(default=False, metadata={
        "help": "contract space outside the box (unbounded captures with background)"})

    def validate(self) -> None:
        if self.steps < 0 or self.batch_rays < 1 or self.voxels < 8:
            raise InputError("--steps must be >= 0, --batch-rays >= 1 and --voxels >= 8")
        check_minutes(self.minutes)
        if not 0 <= self.sh_degree <= 2:
            raise InputError(f"--sh-degree must be 0, 1 or 2, got {self.sh_degree}")
        try:  # comma lists from the command line arrive as strings
            self.upsample_at = tuple(float(v) for v in self.upsample_at)
        except (TypeError, ValueError):
            raise InputError(f"--upsample-at must be numbers, got {self.upsample_at}") from None
        if self.levels < 0 or len(self.upsample_at) < self.levels:
            raise InputError(f"--upsample-at needs one fraction per level ({self.levels})")
        fractions = self.upsample_at[:self.levels]
        if not all(0 < f < 1 for f in fractions) or list(fractions) != sorted(fractions):
            raise InputError("--upsample-at fractions must lie in (0, 1), in increasing order")
        for name in ("lr", "lr_final_ratio", "box_scale", "sample_step"):
            if not getattr(self, name) > 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive")
        for name in ("tv_density", "tv_colour", "sparsity", "occupancy_threshold", "transmittance_threshold"):
            if not getattr(self, name) >= 0:
                raise InputError(f"--{name.replace('_', '-')} must be >= 0")


@dataclasses.dataclass
class FitResult:
    field: RadianceField
    steps_done: int
    interrupted: bool
    seconds: float                  # fitting time (evaluations excluded)
    curve: list                     # [{"step", "seconds", "psnr"}] held-out PSNR along the way
    train_psnr: float               # running PSNR of the last batches
    budget: dict                    # FitBudget.summary: budget_s, budget_left_s, stopped_by, schedule_progress


def tv(grid: torch.Tensor, block: int = 0, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mean squared difference between neighbouring grid points, summed over the three axes (``1,C,D,H,W``).
    ``block`` > 0: over one random ``block``-sided cube of the grid instead (an unbiased estimate, much cheaper)."""
    if block:
        starts = [int(torch.randint(max(n - block, 0) + 1, (1,), generator=generator)) for n in grid.shape[2:]]
        grid = grid[:, :, starts[0]:starts[0] + block, starts[1]:starts[1] + block, starts[2]:starts[2] + block]
    return sum(((grid.narrow(d, 1, grid.shape[d] - 1) - grid.narrow(d, 0, grid.shape[d] - 1)) ** 2).mean()
               for d in (2, 3, 4))


def initial_field(data: PosedDataset, config: FieldFitConfig, device: torch.device) -> RadianceField:
    """The coarse starting field: box from the cameras, shrunk to the masks' visual hull when there are masks."""
    train = data.split["train"]
    lo, hi = box_from_cameras(data.cameras[train], config.box_scale)
    coarse = max(8, config.voxels // 8 ** config.levels)
    carve = data.alphas is not None and not config.contract
    probe_voxels = min(HULL_PROBE_VOXELS, 8 * config.voxels)
    if carve:
        cams, alphas = data.cameras[train], data.alphas[train].to(device)
        for _ in range(2):  # carve the camera box, shrink it to the hull, carve the smaller box again
            probe = new_field(lo, hi, resolution_for(lo, hi, probe_voxels), device=device)
            hull = visual_hull(probe, cams, alphas)
            if not hull.any():
                raise InputError("the alpha masks carve away the whole scene box; are the cameras right?")
            lo, hi = occupied_bounds(probe, hull)
    field = new_field(lo, hi, resolution_for(lo, hi, coarse, config.contract), config.sh_degree, config.contract,
                      device=device)
    if carve:
        probe = new_field(lo, hi, resolution_for(lo, hi, probe_voxels), device=device)
        field.occupancy = resample_occupancy(visual_hull(probe, cams, alphas), field.resolution)
    field.background = (1.0, 1.0, 1.0) if data.white_background else None
    return field


@torch.no_grad()
def update_occupancy(field: RadianceField, threshold: float) -> None:
    """Empty the voxels whose opacity over one sample step stays below ``threshold`` in their neighbourhood."""
    step = STEP_RATIO * field.voxel_size * world_per_grid(field)
    alpha = 1 - torch.exp(-F.softplus(field.density + field.density_shift) * step)
    keep = F.max_pool3d(alpha, 3, stride=1, padding=1)[0, 0] > threshold
    field.occupancy &= keep


def _level_resolution(field: RadianceField, config: FieldFitConfig, level: int) -> tuple:
    voxels = config.voxels // 8 ** (config.levels - level)
    return resolution_for(field.box_min.cpu(), field.box_max.cpu(), max(8, voxels), field.contracted)


@torch.no_grad()
def evaluate(field: RadianceField, data: PosedDataset, views: list[int], background,
             with_ssim: bool = True) -> list[dict]:
    """Scores of ``field`` on the views ``views`` (indices into ``data``), each rendered at the data's size on
    ``background`` (a colour ``3`` in [0,1], tuple or tensor) and clamped to [0,1]: one ``{"view": i, "file": its
    image path, "psnr": dB (:func:`core.metrics.psnr`, inf for an exact render), "ssim": in [-1, 1]
    (:func:`core.metrics.ssim` at full size; left out with ``with_ssim=False``)}`` per view, in order."""
    w, h = data.size
    out = []
    for i in views:
        rgb = render_field(field, data.cameras[i], w, h, background).rgb.clamp(0, 1).cpu()
        target = data.images[i:i + 1]
        scores = {"view": i, "file": str(data.paths[i]), "psnr": psnr(rgb, target)}
        if with_ssim:
            scores["ssim"] = ssim(rgb, target, size=None)
        out.append(scores)
    return out


def fit_field(data: PosedDataset, config: FieldFitConfig, device: torch.device, seed: int = 0,
              checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
              eval_every: int = 0, eval_views: Optional[list] = None,
              on_step: Optional[Callable] = None, clock: Callable[[], float] = time.perf_counter) -> FitResult:
    """Fit a field to the training split of ``data``; see the module docstring.

    ``eval_every`` > 0: every so many steps (and at the end) render ``eval_views`` (default: the first two test
    views) and record their mean PSNR against the fitting time so far (evaluation time not counted). Ctrl-C stops
    with the last state (``interrupted``); with ``checkpoint`` the state is saved every ``checkpoint.every`` steps
    and on Ctrl-C, and ``resume`` continues from it (same draws as an uninterrupted run). ``config.minutes``:
    stop after that many minutes of fitting (:class:`~stylize3d.fit_budget.FitBudget`; evaluations not counted);
    the learning-rate decay and the upsampling follow whichever of the steps and the budget runs out first, so the
    fit ends on the finest grid either way (a budgeted fit depends on the machine's speed, also when resumed);
    ``budget`` of the result says which stopped it and how much budget was left. ``clock``: the seconds that
    count (wall time by default; ``time.process_time`` counts this process's CPU time instead)."""
    config.validate()
    generator = torch.Generator().manual_seed(seed)
    train = data.split["train"]
    w, h = data.size
    rays = camera_rays(data.cameras[train], w, h, "cpu")
    targets = data.images[train].permute(0, 2, 3, 1).reshape(-1, 3)
    coverage = (data.alphas[train].reshape(-1) if data.alphas is not None and data.white_background
                and config.random_background else None)  # images composited on white: re-composite per ray
    bg = torch.tensor([1.0, 1.0, 1.0] if data.white_background else [0.0, 0.0, 0.0], device=device)
    background = bg if data.white_background else bg.clone().requires_grad_(True)  # learnable without masks
    views = eval_views if eval_views is not None else data.split["test"][:2]
    state = checkpoint.load() if (resume and checkpoint is not None) else None
    if state is not None:
        field = RadianceField(**{k: (v.to(device) if torch.is_tensor(v) else v) for k, v in state["field"].items()})
        start, curve, fit_seconds, level = state["step"], state["curve"], state["seconds"], state["level"]
        generator.set_state(state["generator"])
        with torch.no_grad():
            background.copy_(state["background"].to(device))
    else:
        field = initial_field(data, config, device)
        start, curve, fit_seconds, level = 0, [], 0.0, 0
    params = _trainable(field, background)
    opt = torch.optim.Adam(params, lr=config.lr, betas=(0.9, 0.99))
    if state is not None and state.get("optimizer"):
        opt.load_state_dict(state["optimizer"])
    running, step, interrupted = None, start, False
    budget = FitBudget(config.steps, config.minutes, clock, seconds=fit_seconds)

    def save():
        if checkpoint is not None:
            checkpoint.save({"field": _field_state(field), "step": step, "curve": curve, "seconds": fit_seconds,
                             "level": level, "generator": generator.get_state(), "optimizer": opt.state_dict(),
                             "background": background.detach().cpu()})

    def record():
        with budget.paused():
            scores = evaluate(field, data, views, background.detach(), with_ssim=False)
        curve.append({"step": step, "seconds": fit_seconds, "psnr": sum(v["psnr"] for v in scores) / len(scores)})

    bar = tqdm(total=config.steps, initial=start, desc="fitting field", disable=not progress, dynamic_ncols=True,
               leave=False)
    try:
        fit_seconds = budget.seconds
        while step < config.steps and not budget.exhausted(fit_seconds):
            done = budget.progress(step, fit_seconds)
            lr = config.lr * config.lr_final_ratio ** done
            if level < config.levels and done >= config.upsample_at[level]:
                level += 1
                field = upsample(field, _level_resolution(field, config, level))
                params = _trainable(field, background)
                opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.randint(len(targets), (config.batch_rays,), generator=generator)
            batch = rays[idx]
            batch = type(batch)(batch.origins.to(device), batch.dirs.to(device))
            target = targets[idx]
            ray_background = background
            if coverage is not None:
                ray_background = torch.rand(len(idx), 3, generator=generator)
                target = target + (1 - coverage[idx])[:, None] * (ray_background - 1)
                ray_background = ray_background.to(device)
            step_length = config.sample_step * field.voxel_size * world_per_grid(field)
            out = render_rays(field, batch, ray_background, step_length, generator, weight_threshold=0.0,
                              transmittance_threshold=config.transmittance_threshold, return_sigma=True)
            mse = F.mse_loss(out["rgb"], target.to(device))
            loss = mse
            if config.tv_density:
                loss = loss + config.tv_density * tv(field.density, TV_BLOCK, generator)
            if config.tv_colour:
                loss = loss + config.tv_colour * tv(field.colour, TV_BLOCK, generator)
            if config.sparsity and out["sigma"].numel():
                loss = loss + config.sparsity * torch.log1p(2 * out["sigma"] ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if config.occupancy_every and step % config.occupancy_every == 0 and step >= 2 * config.occupancy_every:
                update_occupancy(field, config.occupancy_threshold)
            fit_seconds = budget.seconds
            value = float(mse.detach())
            running = value if running is None else 0.9 * running + 0.1 * value
            bar.set_postfix(psnr=f"{psnr_from_mse(running):.2f}", res="x".join(map(str, field.resolution[::-1])))
            bar.update(1)
            if on_step is not None:
                on_step(step, field)
            if eval_every and step % eval_every == 0 and views:
                record()
            if checkpoint is not None and step % checkpoint.every == 0 and step < config.steps:
                save()
    except KeyboardInterrupt:
        interrupted = True
        save()
    finally:
        bar.close()
    if eval_every and views and not interrupted and (not curve or curve[-1]["step"] != step):
        record()
    if checkpoint is not None and not interrupted:
        checkpoint.remove()
    fitted = field.detached_clone()
    if not data.white_background:
        fitted.background = tuple(float(v) for v in background.detach().clamp(0, 1))
    return FitResult(fitted, step - start, interrupted, fit_seconds, curve,
                     psnr_from_mse(running) if running is not None else float("nan"),
                     budget.summary(step, fit_seconds, interrupted))


def _trainable(field: RadianceField, background: torch.Tensor) -> list:
    field.density = field.density.detach().requires_grad_(True)
    field.colour = field.colour.detach().requires_grad_(True)
    return [field.density, field.colour] + ([background] if background.requires_grad else [])


def _field_state(field: RadianceField) -> dict:
    return {f.name: (getattr(field, f.name).detach().cpu() if torch.is_tensor(getattr(field, f.name))
                     else getattr(field, f.name)) for f in dataclasses.fields(field)}
