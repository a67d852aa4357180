"""3D Gaussian Splatting training from a posed dataset: our torch renderer on the CPU, gsplat's on CUDA.

The published recipe (Kerbl et al. 2023, as gsplat's ``simple_trainer`` runs it): Adam per parameter with
learning rates means 1.6e-4 × scene scale (decaying exponentially to 1 % of that over the run), log-scales 5e-3,
quaternions 1e-3, opacity logits 5e-2, SH DC 2.5e-3, higher SH 2.5e-3 / 20 (Adam eps 1e-15); loss
``(1 − λ)·L1 + λ·(1 − SSIM)`` with λ = 0.2; SH degree raised by one every ``sh_interval`` steps; densification
(clone small / split large Gaussians by accumulated screen-space position gradient, prune by opacity and size,
periodic opacity reset) by gsplat's ``DefaultStrategy`` (or ``MCMCStrategy``, CUDA only: its relocation is a
CUDA kernel), which read ``means2d`` (with its gradient), ``radii``, image size and camera count from the render.

Short runs (a CPU budget of minutes is a few thousand steps, not 30000): the schedules default to the published
ones scaled to ``steps`` (:meth:`SplatFitConfig.schedule`: SH every steps/30, densification every steps/30 steps
(at most 100) from 5 % to 60 % of the run, no opacity reset under 6000 steps), and the first ``res_fraction`` of
the steps train on views downscaled by 4, then 2 (:meth:`SplatFitConfig.downscale_at`), where a step costs
several times less. ``minutes`` is a wall-clock budget (:mod:`stylize3d.fit_budget`; held-out evaluations not
counted): when it binds, every schedule above (SH degree, resolution, means learning rate, densification) reads
the schedule step ``floor(progress · steps)`` instead of the step, so they spread over the budget and end with
it; the densification strategy is told each refinement step the schedule step passes (none is skipped when it
advances several steps at once).

Initialisation: the dataset's sparse points (``sparse_pc.ply`` from ``stylize capture`` / ``ns-process-data``) with
their colours, or random points in a cube around the cameras' look-at region; scales from the mean distance to the
3 nearest neighbours, opacity 0.1, random rotations.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from typing import Any, Optional

import torch
import torch.nn.functional as F

from core.errors import InputError
from core.metrics import psnr, ssim_map
from stylize3d.cameras import Cameras
from stylize3d.fit_budget import MINUTES_HELP, FitBudget, check_minutes
from stylize3d.sh import SH_C0
from stylize3d.splats.render import render
from stylize3d.splats.scene import GaussianScene, num_sh_coeffs

STRATEGIES = ("default", "mcmc")
BACKGROUNDS = ("auto", "white", "black")
LEARNING_RATES = {"means": 1.6e-4, "scales": 5e-3, "quats": 1e-3, "opacities": 5e-2, "sh0": 2.5e-3,
                  "shN": 2.5e-3 / 20}
"""Published per-parameter Adam learning rates (``means`` is multiplied by the scene scale)."""
MEANS_LR_FINAL_FRACTION = 0.01
MIN_TRAIN_SIDE = 11
"""The resolution schedule never trains on images with a side under the SSIM window (11 px)."""


@dataclasses.dataclass
class SplatFitConfig:
    steps: int = dataclasses.field(default=3000, metadata={"help": "training steps (one view each)"})
    minutes: Optional[float] = dataclasses.field(default=None, metadata={"help": MINUTES_HELP})
    max_sh_degree: int = dataclasses.field(default=3, metadata={"help": "final SH degree (0-3)"})
    sh_interval: Optional[int] = dataclasses.field(default=None, metadata={"help": "steps between SH degree "
                                                                           "increases (default: steps/30, the "
                                                                           "published 1000 of 30000)"})
    ssim_lambda: float = dataclasses.field(default=0.2, metadata={"help": "weight of the D-SSIM term"})
    strategy: str = dataclasses.field(default="default", metadata={"help": "densification: default (3DGS clone/"
                                                                   "split/prune) or mcmc (CUDA only)",
                                                                   "choices": STRATEGIES})
    refine_start: Optional[int] = dataclasses.field(default=None, metadata={"help": "first densification step "
                                                                            "(default: 5 %% of the steps)"})
    refine_stop: Optional[int] = dataclasses.field(default=None, metadata={"help": "last densification step "
                                                                           "(default: 60 %% of the steps, at most "
                                                                           "15000)"})
    refine_every: Optional[int] = dataclasses.field(default=None, metadata={"help": "steps between "
                                                                            "densifications (default: steps/30, "
                                                                            "at least 10, at most 100)"})
    reset_every: Optional[int] = dataclasses.field(default=None, metadata={"help": "steps between opacity resets "
                                                                           "(default: 3000, none in runs "
                                                                           "under 6000 steps)"})
    grow_grad2d: float = dataclasses.field(default=2e-4, metadata={"help": "screen-space gradient threshold for "
                                                                   "cloning/splitting"})
    res_levels: int = dataclasses.field(default=3, metadata={"help": "resolution schedule: train at 1/2^(L-1), "
                                                                     "..., 1/2 of the image size first (1: full "
                                                                     "size throughout)"})
    res_fraction: float = dataclasses.field(default=0.3, metadata={"help": "fraction of the steps spent below "
                                                                           "full size, split evenly over the "
                                                                           "coarse levels"})
    cap_max: int = dataclasses.field(default=300_000, metadata={"help": "Gaussian budget of the mcmc strategy"})
    init_points: int = dataclasses.field(default=20_000, metadata={"help": "random initial Gaussians when the "
                                                                   "dataset has no sparse points"})
    init_opacity: float = dataclasses.field(default=0.1, metadata={"help": "initial opacity"})
    background: str = dataclasses.field(default="auto", metadata={"help": "colour behind the Gaussians in training "
                                                                  "and held-out renders: auto (white for RGBA "
                                                                  "data, which is composited on white, and for "
                                                                  "photos whose border is at least 40 %% "
                                                                  "white; black otherwise), white or black",
                                                                  "choices": BACKGROUNDS})
    test_every: int = dataclasses.field(default=500, metadata={"help": "steps between held-out "
                                                               "evaluations"})
    seed: int = dataclasses.field(default=0, metadata={"help": "random seed (initial points, view order)"})

    def validate(self) -> None:
        if self.steps < 1:
            raise InputError("--steps must be at least 1")
        if not 0 <= self.max_sh_degree <= 3:
            raise InputError("--max-sh-degree must be 0-3")
        if self.background not in BACKGROUNDS:
            raise InputError(f"--background {self.background!r}: choose {', '.join(BACKGROUNDS)}")
        if self.strategy not in STRATEGIES:
            raise InputError(f"--strategy {self.strategy!r}: choose {' or '.join(STRATEGIES)}")
        if not 0 <= self.ssim_lambda <= 1:
            raise InputError("--ssim-lambda must be in [0, 1]")
        for name in ("sh_interval", "refine_every", "reset_every", "test_every", "refine_start", "refine_stop"):
            value = getattr(self, name)
            if value is not None and value < (0 if name in ("refine_start", "refine_stop") else 1):
                raise InputError(f"--{name.replace('_', '-')} must be positive")
        check_minutes(self.minutes)
        if not 1 <= self.res_levels <= 4:
            raise InputError("--res-levels must be 1-4")
        if not 0 <= self.res_fraction < 1:
            raise InputError("--res-fraction must be in [0, 1)")
        if self.init_points < 1:
            raise InputError("--init-points must be positive")

    def schedule(self) -> dict[str, int]:
        """Step counts of the schedules, defaults scaled to ``steps`` (the published recipe is 30000 steps with
        SH every 1000, densification every 100 from 500 to 15000 and opacity resets every 3000): ``sh_interval``,
        ``refine_start``, ``refine_stop``, ``refine_every``, ``reset_every``."""
        n = self.steps
        pick = lambda value, default: default if value is None else value  # noqa: E731
        return {"sh_interval": pick(self.sh_interval, max(1, n // 30)),
                "refine_start": pick(self.refine_start, n // 20),
                "refine_stop": pick(self.refine_stop, min(15_000, n * 3 // 5)),
                "refine_every": pick(self.refine_every, min(100, max(10, n // 30))),
                "reset_every": pick(self.reset_every, 3000 if n >= 6000 else n + 1)}

    def background_rgb(self, white_data: bool) -> tuple[float, float, float]:
        """The background colour (RGB in [0,1]) for data composited on white (``white_data``) or not."""
        white = self.background == "white" or (self.background == "auto" and white_data)
        return (1.0, 1.0, 1.0) if white else (0.0, 0.0, 0.0)

    def downscale_at(self, step: int) -> int:
        """Image downscale factor (a power of two, 1 = full size) for ``step`` of the resolution schedule."""
        coarse = self.res_levels - 1
        if coarse == 0 or step >= self.res_fraction * self.steps:
            return 1
        level = int(step / (self.res_fraction * self.steps) * coarse)  # 0 = coarsest
        return 2 ** (coarse - level)


@dataclasses.dataclass
class FitResult:
    """``scene`` the trained Gaussians; ``metrics`` held-out ``psnr``/``ssim`` (and ``train_psnr``), Gaussian
    count, the budget's :meth:`~stylize3d.fit_budget.FitBudget.summary` (``budget_s``, ``budget_left_s``,
    ``stopped_by``, ``schedule_progress``); ``history`` one dict per evaluation; ``steps_done``; ``interrupted``;
    ``seconds`` of training."""

    scene: GaussianScene
    metrics: dict
    history: list
    steps_done: int
    interrupted: bool
    seconds: float


# ----------------------------------------------------------------------------------------------- setup


def scene_scale(cameras: Cameras) -> float:
    """1.1 × the largest distance of a camera centre from their mean (gsplat's scene scale), at least 1e-3."""
    centres = cameras.centers().double()
    return max(1e-3, 1.1 * float((centres - centres.mean(0)).norm(dim=1).max()))


def _look_at_centre(cameras: Cameras) -> torch.Tensor:
    """The point nearest to all optical axes (least squares), float64 ``3``."""
    origins, dirs = cameras.centers().double(), cameras.forward_dirs().double()
    proj = torch.eye(3, dtype=torch.float64) - dirs[:, :, None] * dirs[:, None, :]
    return torch.linalg.lstsq(proj.sum(0), (proj @ origins[..., None]).sum(0)).solution[:, 0]


def _nearest_distances(points: torch.Tensor, k: int = 3, chunk: int = 2048) -> torch.Tensor:
    """Mean distance of each of ``N`` points to its ``k`` nearest others, ``N``."""
    out = torch.empty(len(points), dtype=points.dtype)
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start:start + chunk], points)
        d[torch.arange(d.shape[0]), torch.arange(start, start + d.shape[0])] = float("inf")
        out[start:start + chunk] = d.topk(min(k, len(points) - 1), largest=False).values.mean(1)
    return out


def initial_params(cameras: Cameras, config: SplatFitConfig, points: Optional[tuple] = None,
                   generator: Optional[torch.Generator] = None) -> dict[str, torch.Tensor]:
    """Raw starting parameters (gsplat's names): ``means N,3``, ``scales N,3`` log, ``quats N,4``, ``opacities N``
    logit, ``sh0 N,1,3``, ``shN N,K-1,3``. ``points``: ``(xyz N,3, rgb N,3 in [0,1])`` or None for random points
    in a cube of half-size ``scene_scale`` around where the cameras look."""
    g = generator or torch.Generator().manual_seed(config.seed)
    if points is not None and len(points[0]) >= 4:
        xyz, rgb = (torch.as_tensor(v, dtype=torch.float32) for v in points)
    else:
        half = scene_scale(cameras)
        xyz = (_look_at_centre(cameras).float() + (torch.rand(config.init_points, 3, generator=g) * 2 - 1) * half)
        rgb = torch.rand(config.init_points, 3, generator=g)
    n = len(xyz)
    dist = _nearest_distances(xyz).clamp(min=1e-7)
    k = num_sh_coeffs(config.max_sh_degree)
    return {
        "means": xyz.clone(),
        "scales": torch.log(dist)[:, None].repeat(1, 3),
        "quats": torch.rand(n, 4, generator=g),
        "opacities": torch.full((n,), math.log(config.init_opacity / (1 - config.init_opacity))),
        "sh0": ((rgb - 0.5) / SH_C0)[:, None, :],
        "shN": torch.zeros(n, k - 1, 3),
    }


def params_to_scene(params) -> GaussianScene:
    """A :class:`GaussianScene` view of the parameters (shared tensors, gradients flow)."""
    return GaussianScene(means=params["means"], quats=params["quats"], log_scales=params["scales"],
                         opacity_logits=params["opacities"], sh=torch.cat([params["sh0"], params["shN"]], dim=1))


def _make_strategy(config: SplatFitConfig, device: torch.device):
    from gsplat.strategy import DefaultStrategy, MCMCStrategy

    plan = config.schedule()
    if config.strategy == "mcmc":
        if device.type != "cuda":
            raise InputError("--strategy mcmc needs CUDA (gsplat's relocation is a CUDA kernel); use --strategy default")
        return MCMCStrategy(cap_max=config.cap_max, refine_start_iter=plan["refine_start"],
                            refine_stop_iter=plan["refine_stop"], refine_every=plan["refine_every"])
    return DefaultStrategy(refine_start_iter=plan["refine_start"], refine_stop_iter=plan["refine_stop"],
                           refine_every=plan["refine_every"], reset_every=plan["reset_every"],
                           grow_grad2d=config.grow_grad2d, verbose=False)


def _optimizers(params, scale: float) -> dict[str, torch.optim.Optimizer]:
    return {name: torch.optim.Adam([{"params": params[name], "lr": lr * (scale if name == "means" else 1.0),
                                     "name": name}], eps=1e-15)
            for name, lr in LEARNING_RATES.items()}


WHITE_BACKDROP = 0.4
"""``--background auto`` trains photos on white when at least this fraction of their border pixels is white
(an object on a white backdrop; a blown-out sky along the top edge alone is about a quarter of the border)."""


def resolve_background(config: SplatFitConfig, dataset) -> SplatFitConfig:
    """``config`` with ``background`` "auto" decided for ``dataset`` (``.images N,3,H,W`` in [0,1], ``.split``,
    ``.white_background``): "white" for data composited on white (RGBA) and for photos whose border is at least
    :data:`WHITE_BACKDROP` white (an object on a white backdrop, said in a warning), "black" otherwise."""
    if config.background != "auto":
        return config
    white = bool(getattr(dataset, "white_background", False))
    if not white:
        fraction = white_border_fraction(dataset.images[list(dataset.split["train"])])
        white = fraction >= WHITE_BACKDROP
        if white:
            warnings.warn(f"{fraction:.0%} of the pictures' border pixels are white: training on a white backdrop "
                          "(--background black to paint it with Gaussians instead)", UserWarning, stacklevel=2)
    return dataclasses.replace(config, background="white" if white else "black")


def white_border_fraction(images: torch.Tensor) -> float:
    """Fraction of the border pixels (the outer 1/16 of the short side all round) of ``images`` (``N,3,H,W`` in
    [0,1]) that are white (every channel at least 0.95): high for pictures of an object on a white backdrop."""
    h, w = images.shape[-2:]
    b = max(1, min(h, w) // 16)
    border = torch.zeros(h, w, dtype=torch.bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    return float((images.amin(dim=1) >= 0.95)[:, border].float().mean())


# ----------------------------------------------------------------------------------------------- metrics


@torch.no_grad()
def evaluate(scene: GaussianScene, cameras: Cameras, images: torch.Tensor, background: torch.Tensor,
             sh_degree: Optional[int] = None, backend: str = "auto") -> dict[str, float]:
    """Mean ``psnr`` (dB) and ``ssim`` of renders of ``cameras`` against ``images`` (``N,3,H,W`` in [0,1])."""
    h, w = images.shape[-2:]
    p, s = [], []
    for i in range(len(cameras)):
        out = render(scene, cameras[i], w, h, background, sh_degree, backend).rgb.clamp(0, 1)
        ref = images[i:i + 1].to(out)
        p.append(psnr(out, ref))
        s.append(float(ssim_map(out.double(), ref.double()).mean()))
    return {"psnr": sum(p) / len(p), "ssim": sum(s) / len(s)}


# ----------------------------------------------------------------------------------------------- training


def fit_splats(dataset, config: SplatFitConfig, device: torch.device, points: Optional[tuple] = None,
               checkpoint=None, resume: bool = False, progress: bool = True, backend: str = "auto",
               clock=time.perf_counter) -> FitResult:
    """Train Gaussians on ``dataset`` (``.cameras``, ``.images N,3,H,W`` in [0,1], ``.split`` with ``train`` /
    ``test`` index lists, ``.white_background``) and return them with held-out metrics.

    ``points``: sparse initial points (see :func:`initial_params`). ``checkpoint`` (:class:`core.optimize.Checkpoint`)
    is saved every ``checkpoint.every`` steps and on Ctrl-C; ``resume`` continues from it. Ctrl-C ends training early
    and returns the Gaussians so far (``interrupted``). ``clock``: the seconds ``config.minutes`` counts (wall time;
    a fake clock in tests).
    """
    config.validate()
    config = resolve_background(config, dataset)
    train, test = list(dataset.split["train"]), list(dataset.split.get("test", []))
    if not train:
        raise InputError("the dataset has no training views")
    images = dataset.images
    h, w = images.shape[-2:]
    bg = torch.tensor(config.background_rgb(getattr(dataset, "white_background", False)), device=device)
    cameras = dataset.cameras.scaled_to(w, h)
    scale = scene_scale(cameras[train])
    g = torch.Generator().manual_seed(config.seed)
    strategy = _make_strategy(config, device)
    state = checkpoint.load() if (checkpoint is not None and resume) else None
    if state is not None:
        raw, start = state["params"], state["step"]
        g.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])  # gsplat's split samples new positions from the global RNG
    else:
        torch.manual_seed(config.seed)  # gsplat's split draws from the global RNG: same seed, same result
        raw, start = initial_params(cameras[train], config, points, g), 0
    params = torch.nn.ParameterDict({k: torch.nn.Parameter(v.to(device)) for k, v in raw.items()})
    optimizers = _optimizers(params, scale)
    means_lr = optimizers["means"].param_groups[0]["lr"]
    strategy.check_sanity(params, optimizers)
    strategy_state = strategy.initialize_state(scene_scale=scale) if config.strategy == "default" else \
        strategy.initialize_state()
    if state is not None:
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        strategy_state = {k: (v.to(device) if isinstance(v, torch.Tensor) else v)
                          for k, v in state["strategy"].items()}
    history = list(state["history"]) if state is not None else []
    gt_all = images.to(device)

    def save(step: int, rng: tuple, seconds: float, scheduled: int) -> None:
        """Save the state as it was at the start of ``step`` (``rng``: both generators' states then; ``seconds`` of
        training and the schedule step ``scheduled`` reached before it)."""
        if checkpoint is None:
            return
        checkpoint.save({"step": step, "params": {k: v.detach().cpu() for k, v in params.items()},
                         "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
                         "seconds": seconds, "scheduled": scheduled, "generator": rng[0], "torch_rng": rng[1],
                         "history": history,
                         "strategy": {k: (v.cpu() if isinstance(v, torch.Tensor) else v)
                                      for k, v in strategy_state.items()}})

    bar = _progress(config.steps, start, progress)
    plan, pyramid = config.schedule(), _Pyramid(gt_all, cameras)
    budget = FitBudget(config.steps, config.minutes, clock, seconds=state.get("seconds", 0.0) if state else 0.0)
    cpu0, eval_cpu = time.process_time(), 0.0
    scheduled = state.get("scheduled", start - 1) if state else -1  # the schedule step of the last step done
    step, interrupted = start, False
    rng, seconds = (g.get_state(), torch.get_rng_state()), budget.seconds
    saved = (seconds, scheduled)
    try:
        for step in range(start, config.steps):
            if budget.exhausted(seconds):
                break
            rng, saved = (g.get_state(), torch.get_rng_state()), (seconds, scheduled)
            previous, scheduled = scheduled, budget.schedule_step(step, seconds)
            degree = min(scheduled // plan["sh_interval"], config.max_sh_degree)
            optimizers["means"].param_groups[0]["lr"] = means_lr * MEANS_LR_FINAL_FRACTION ** budget.progress(
                step, seconds)
            view = train[int(torch.randint(len(train), (1,), generator=g))]
            level_images, level_cameras = pyramid.level(config.downscale_at(scheduled))
            lh, lw = level_images.shape[-2:]
            out = render(params_to_scene(params), level_cameras[view], lw, lh, bg, degree, backend)
            gt = level_images[view:view + 1]
            info = {"means2d": out.means2d, "radii": out.radii, "width": lw, "height": lh, "n_cameras": 1,
                    "gaussian_ids": None}
            told = _strategy_step(previous, scheduled, plan["refine_every"])
            strategy.step_pre_backward(params, optimizers, strategy_state, told, info)
            rgb = out.rgb
            l1 = (rgb - gt).abs().mean()
            loss = (1 - config.ssim_lambda) * l1 + config.ssim_lambda * (1 - ssim_map(rgb, gt).mean())
            loss.backward()
            if config.strategy == "default":
                strategy.step_post_backward(params, optimizers, strategy_state, told, info, packed=False)
            for opt in optimizers.values():
                opt.step()
                opt.zero_grad(set_to_none=True)
            if config.strategy == "mcmc":
                strategy.step_post_backward(params, optimizers, strategy_state, told, info,
                                            lr=optimizers["means"].param_groups[0]["lr"])
            done = step + 1
            seconds = budget.seconds
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}", psnr=f"{psnr(rgb.detach().clamp(0, 1), gt):.2f}",
                                gaussians=len(params["means"]), refresh=False)
            if test and (done % config.test_every == 0 or done == config.steps):
                with budget.paused():
                    eval_start = time.process_time()
                    scores = _held_out(params, cameras, gt_all, test, bg, degree, backend)
                    eval_cpu += time.process_time() - eval_start
                history.append({"step": done, "gaussians": len(params["means"]), "seconds": seconds,
                                "cpu_seconds": time.process_time() - cpu0 - eval_cpu, "train_size": [lw, lh],
                                "schedule_step": scheduled, **scores})
                if bar is not None:
                    bar.write(f"step {done}: held-out PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.4f}, "
                              f"{len(params['means'])} Gaussians")
            if checkpoint is not None and done % checkpoint.every == 0:
                save(done, (g.get_state(), torch.get_rng_state()), seconds, scheduled)
        else:
            step = config.steps
    except KeyboardInterrupt:
        interrupted = True
        save(step, rng, *saved)
    finally:
        if bar is not None:
            bar.close()
    scene = params_to_scene({k: v.detach() for k, v in params.items()})
    final_degree = min(max(scheduled, 0) // plan["sh_interval"], config.max_sh_degree)
    metrics = {"gaussians": scene.num_gaussians, "sh_degree_reached": final_degree, "scene_scale": scale,
               "train_cpu_seconds": time.process_time() - cpu0 - eval_cpu,
               "final_train_size": list(pyramid.level(config.downscale_at(max(scheduled, 0)))[0].shape[-2:][::-1]),
               **budget.summary(step, seconds, interrupted)}
    if test:
        metrics.update(_held_out(params, cameras, gt_all, test, bg, final_degree, backend))
    if not interrupted and checkpoint is not None:
        checkpoint.remove()
    return FitResult(scene, metrics, history, step, interrupted, seconds)


class _Pyramid:
    """Training images ``N,3,H,W`` and their cameras at the downscale factors of the resolution schedule
    (area-averaged images, intrinsics rescaled), built on first use."""

    def __init__(self, images: torch.Tensor, cameras: Cameras):
        self.images, self.cameras, self.levels = images, cameras, {}

    def level(self, factor: int) -> tuple[torch.Tensor, Cameras]:
        """``(images, cameras)`` downscaled by ``factor``, or by less where the short side would fall under
        :data:`MIN_TRAIN_SIDE` pixels."""
        h, w = self.images.shape[-2:]
        while factor > 1 and min(h, w) / factor < MIN_TRAIN_SIDE:
            factor //= 2
        if factor not in self.levels:
            size = (max(1, round(h / factor)), max(1, round(w / factor)))
            images = self.images if factor == 1 else F.interpolate(self.images, size=size, mode="bilinear",
                                                                   antialias=True, align_corners=False)
            self.levels[factor] = (images.clamp(0, 1), self.cameras.scaled_to(size[1], size[0]))
        return self.levels[factor]


def _strategy_step(previous: int, current: int, every: int) -> int:
    """The step the densification strategy is told when the schedule step moves from ``previous`` to
    ``current``: ``current``, or the last multiple of ``every`` (the refinement interval) in ``(previous,
    current]`` when the schedule step jumped over one (a budget spreading the schedule over fewer steps), so that
    no refinement is skipped. Without jumps it is ``current``."""
    last = current - current % every
    return last if last > previous else current


def _held_out(params, cameras: Cameras, images: torch.Tensor, test: list, bg: torch.Tensor, degree: int,
              backend: str) -> dict[str, float]:
    scene = params_to_scene({k: v.detach() for k, v in params.items()})
    return evaluate(scene, cameras[test], images[test], bg, degree, backend)


def _progress(total: int, start: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="fitting splats", dynamic_ncols=True)
