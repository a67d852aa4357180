"""What ``stylize view`` shows: a scene the browser draws itself, or one our renderer draws on the server.

Every representation renders with our renderer (``render``: for "render this view", the wipe and streaming);
``browser`` says whether viser's WebGL splat renderer can draw it too (then :meth:`BrowserSplats.splat_arrays`
gives viser's arrays). :func:`load_shown_scene` turns a ``stylize view`` argument into one.

A new representation the browser cannot draw (radiance fields) needs only a ``render_fn`` and its bounds::

    ServerRendered(lambda camera, width, height, background, sh_degree: ..., bounds=(lo, hi), name="lego.field")
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from core.errors import InputError
from stylize3d.cameras import Cameras
from stylize3d.representations import load_scene, representation_of, representations
from stylize3d.sh import eval_sh
from stylize3d.splats.render import render
from stylize3d.splats.render.projection import quat_scale_to_covar
from stylize3d.splats.scene import GaussianScene

RenderFn = Callable[[Cameras, int, int, tuple, Optional[int]], torch.Tensor]
"""``(camera, width, height, background, sh_degree) -> 1,3,H,W`` float in [0,1]: ``camera`` is a one-entry
:class:`Cameras` (intrinsics for ``width x height`` or rescaled to it), ``background`` three floats in [0,1],
``sh_degree`` None (the representation's own) or 0-3."""


class ShownScene:
    """Common part: ``name`` (shown in the GUI), ``max_sh_degree``, ``bounds()`` and ``render(...)``."""

    browser = False

    def __init__(self, name: str, max_sh_degree: int = 0):
        self.name = name
        self.max_sh_degree = max_sh_degree

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Robust axis-aligned bounds ``(low 3, high 3)`` of the content, in world units."""
        raise NotImplementedError

    def render(self, camera: Cameras, width: int, height: int, background=(1.0, 1.0, 1.0),
               sh_degree: Optional[int] = None) -> torch.Tensor:
        """``1,3,H,W`` float32 in [0,1] on the CPU, made by our renderer (no gradient)."""
        raise NotImplementedError


class BrowserSplats(ShownScene):
    """Gaussian splats: the browser draws them (viser), our renderer draws them for PNGs and the wipe."""

    browser = True

    def __init__(self, scene: GaussianScene, name: str, device: torch.device = torch.device("cpu"),
                 backend: str = "auto"):
        super().__init__(name, scene.sh_degree)
        self.scene = scene.to(device)
        self.backend = backend
        cpu = scene.to("cpu")
        self._cpu = cpu
        self._covariances = quat_scale_to_covar(cpu.quats, cpu.log_scales.exp()).numpy()
        self._opacities = torch.sigmoid(cpu.opacity_logits)[:, None].numpy()

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.scene.bounds()
        return lo.cpu(), hi.cpu()

    @torch.no_grad()
    def render(self, camera, width, height, background=(1.0, 1.0, 1.0), sh_degree=None) -> torch.Tensor:
        out = render(self.scene, camera, width, height, tuple(background), sh_degree, self.backend)
        return out.rgb.clamp(0, 1).cpu()

    def colours(self, sh_degree: int = 0, eye: "np.ndarray | None" = None) -> np.ndarray:
        """``N,3`` float32 colours in [0,1]: ``0.5 + SH`` seen from ``eye`` (3, world), degree ``sh_degree``
        (0: view-independent, ``eye`` unused), as our renderer colours them."""
        degree = min(int(sh_degree), self.max_sh_degree)
        if degree == 0 or eye is None:
            degree, dirs = 0, torch.zeros_like(self._cpu.means)
        else:
            dirs = self._cpu.means - torch.as_tensor(eye, dtype=torch.float32)
        return (eval_sh(degree, dirs, self._cpu.sh) + 0.5).clamp(0, 1).numpy()

    def splat_arrays(self, sh_degree: int = 0, eye: "np.ndarray | None" = None) -> dict:
        """Keyword arguments of viser's ``add_gaussian_splats``: centres ``N,3``, covariances ``N,3,3``, rgbs
        ``N,3`` (from :meth:`colours`), opacities ``N,1``."""
        return {"centers": self._cpu.means.numpy(), "covariances": self._covariances,
                "rgbs": self.colours(sh_degree, eye), "opacities": self._opacities}


class ServerRendered(ShownScene):
    """Anything with a ``render_fn`` (:data:`RenderFn`): frames are rendered on the server and streamed."""

    def __init__(self, render_fn: RenderFn, bounds: tuple[torch.Tensor, torch.Tensor], name: str,
                 max_sh_degree: int = 0):
        super().__init__(name, max_sh_degree)
        self._render_fn = render_fn
        self._bounds = (torch.as_tensor(bounds[0]).float().cpu(), torch.as_tensor(bounds[1]).float().cpu())

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._bounds

    @torch.no_grad()
    def render(self, camera, width, height, background=(1.0, 1.0, 1.0), sh_degree=None) -> torch.Tensor:
        return self._render_fn(camera, width, height, tuple(background), sh_degree).clamp(0, 1).cpu()


def load_shown_scene(path: str, device: torch.device, backend: str = "auto") -> ShownScene:
    """A ``stylize view`` argument → what the viewer shows: anything ``stylize render`` takes (a Gaussian splat
    ``.ply``, a radiance field ``.safetensors``, a nerfstudio / 3DGS / gsplat run), or a ``stylize scene`` output
    folder (``*_stylized.*`` first). Scenes whose representation the browser can draw (splats) are drawn by the
    browser; the others by our renderer on the server. :class:`InputError` for anything else or an unreadable
    file."""
    p = Path(path)
    if p.is_dir() and not any(p.glob("config.yml")) and not (p / "point_cloud").is_dir() and not (p / "ckpts").is_dir():
        suffixes = {rep.suffix for rep in representations().values()}
        candidates = [c for c in sorted(p.glob("*_stylized.*")) if c.suffix.lower() in suffixes]
        candidates = candidates or sorted(p.glob("*.ply"))
        if len(candidates) != 1:
            raise InputError(f"{p} is a folder with {len(candidates)} scenes; name the scene file")
        p = candidates[0]
    scene, _ = load_scene(p, device)
    scene_representation = representation_of(scene)
    if scene_representation.browser_drawable:
        return BrowserSplats(scene, p.name, device, backend)

    def render_fn(camera, width, height, background, sh_degree):
        return scene_representation.render(scene, camera, width, height, background, sh_degree, backend).rgb

    bounds = scene_representation.bounds(scene)
    return ServerRendered(render_fn, (bounds[0].cpu(), bounds[1].cpu()), p.name, scene.sh_degree)


def boxes_overlap(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> bool:
    """Whether two axis-aligned boxes ``(low 3, high 3)`` intersect."""
    return bool(((a[0] <= b[1]) & (b[0] <= a[1])).all())
