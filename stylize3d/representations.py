"""The one scene dispatch: a registry of 3D representations, each knowing how to load, save, render, stylize and
edit its scenes, so no command asks "is this a field?".

A representation is a :class:`Representation` object registered by name. The built-in ones are Gaussian splats
(``"splats"``, :mod:`stylize3d.splats.representation`) and radiance fields (``"field"``,
:mod:`stylize3d.fields.representation`); a plug-in package adds another under the entry-point group
``stylize.representations`` (value ``module:object``). A scene object names its representation in its
``representation`` class attribute; a path is claimed by the first representation whose :meth:`~Representation.accepts`
says so (plug-ins first, then fields, then splats, which take any ``.ply`` or training run and explain a bad path).

:func:`load_scene`, :func:`save_scene`, :func:`render_scene` and :func:`render_scene_all` are the dispatching calls
the CLI, the viewer, ``instruct`` and :func:`stylize3d.stylize.stylize_scene` use.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from core.errors import InputError

BUILTIN = ("stylize3d.fields.representation:FIELD", "stylize3d.splats.representation:SPLATS")
"""The built-in representations in path-claiming order (splats last: they accept any path and explain bad ones)."""
ENTRY_POINT_GROUP = "stylize.representations"

_REGISTRY: Optional[Dict[str, "Representation"]] = None


class Representation:
    """One kind of 3D scene and what every command does with it. Subclasses set the attributes and implement the
    methods; a scene object's class names its representation in a ``representation`` class attribute.

    Style and edit tasks are :class:`core.stylization.StylizationTask` objects with ``result(stylization) ->``
    :class:`stylize3d.scene_style.SceneStyleResult`.
    """

    name: str = ""
    """Registry key; also the ``stylize fit --model`` name."""
    suffix: str = ""
    """File suffix scenes of this representation are saved with (``stylize scene`` names its output so)."""
    style_options: Optional[type] = None
    """Dataclass of this representation's own ``stylize scene`` settings (None: it has none)."""
    browser_drawable: bool = False
    """Whether viser's WebGL splat renderer can draw it (``stylize view``); else frames are rendered on the server."""
    fit_help: str = ""
    """One line for ``stylize fit --model NAME`` (empty: it cannot be fitted to photos)."""

    def accepts(self, path: Path) -> bool:
        """Whether ``path`` is a scene of this representation (by name; the file is not read)."""
        raise NotImplementedError

    def load(self, path: Path, device: torch.device) -> "Tuple[object, Optional[object]]":
        """``(scene on device, its training Cameras or None)``; :class:`InputError` for an unreadable scene."""
        raise NotImplementedError

    def save(self, scene, path: Path) -> None:
        """Write ``scene`` atomically to ``path`` (ending in :attr:`suffix`)."""
        raise NotImplementedError

    def scene_name(self, path: Path) -> str:
        """A short name for output files."""
        return Path(path).stem

    def render(self, scene, cameras, width: int, height: int, background=(0.0, 0.0, 0.0),
               sh_degree: Optional[int] = None, backend: str = "auto"):
        """A :class:`~stylize3d.splats.render.RenderOutput` (rgb ``N,3,H,W``, alpha and depth ``N,1,H,W``),
        differentiable in the scene's tensors. ``sh_degree``/``backend`` apply where the representation has them."""
        raise NotImplementedError

    def render_all(self, scene, cameras, width: int, height: int, background=(1.0, 1.0, 1.0),
                   sh_degree: Optional[int] = None, backend: str = "auto", batch: int = 4):
        """:meth:`render` without gradient, rgb clamped to [0,1], every tensor on the CPU."""
        with torch.no_grad():
            out = self.render(scene, cameras, width, height, background, sh_degree, backend)
        return type(out)(out.rgb.clamp(0, 1).cpu(), out.alpha.cpu(), out.depth.cpu())

    def bounds(self, scene) -> "Tuple[torch.Tensor, torch.Tensor]":
        """Robust axis-aligned bounds ``(low 3, high 3)`` of the content, in world units."""
        return scene.bounds()

    def sizes(self, scene) -> dict:
        """Size figures of ``scene`` for reports."""
        return {}

    def checkpoint_meta(self) -> dict:
        """What a stylization checkpoint of this representation must agree on to be resumed."""
        return {}

    def style_task(self, scene, cameras, style: torch.Tensor, config, options):
        """``(task, objective)``: the stylization of ``scene`` seen from ``cameras`` after ``style`` (``1,3,h,w`` in
        [0,1]) with the shared ``config`` (:class:`~stylize3d.scene_style.SceneStyleConfig`) and ``options``
        (an instance of :attr:`style_options`, or None)."""
        raise NotImplementedError

    def edit_task(self, scene, cameras, config, options):
        """``(task, originals N,3,H,W in [0,1])``: the text edit of ``scene`` (Instruct-NeRF2NeRF / GS2GS)."""
        raise NotImplementedError

    def fit(self, data, device: torch.device, source=None, progress: bool = True, **config):
        """The scene fitted to the posed dataset ``data`` (read from the folder ``source`` when known: extra files
        such as a sparse point cloud); ``config``: this representation's fit settings by plain name."""
        raise InputError(f"{self.name} scenes cannot be fitted to photos")

    def add_fit_options(self, parser) -> None:
        """Add this representation's ``stylize fit`` options to the shared parser."""

    def run_fit(self, job, data) -> int:
        """Fit a scene to the posed dataset ``data`` and write ``job.args.output`` (inside ``core.cli.run_job``)."""
        raise InputError(f"{self.name} scenes cannot be fitted to photos")


def _resolve(target: str) -> Representation:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def representations() -> Dict[str, Representation]:
    """Every registered representation by name, in path-claiming order (loaded once)."""
    global _REGISTRY
    if _REGISTRY is None:
        found = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)] + [_resolve(t) for t in BUILTIN]
        _REGISTRY = {}
        for rep in found:
            _REGISTRY.setdefault(rep.name, rep)
    return _REGISTRY


def representation_of(scene) -> Representation:
    """The representation of a scene object (its class's ``representation`` attribute)."""
    name = getattr(type(scene), "representation", None)
    if name not in representations():
        raise TypeError(f"{type(scene).__name__} is not a registered 3D representation")
    return representations()[name]


def representation_for_path(path: "str | os.PathLike") -> Representation:
    """The representation that claims the scene at ``path``."""
    for rep in representations().values():
        if rep.accepts(Path(path)):
            return rep
    raise InputError(f"{path}: not a 3D scene ({', '.join(r.suffix for r in representations().values())} or a "
                     "training run folder)")


def load_scene(path: "str | os.PathLike", device="cpu") -> Tuple[object, Optional[object]]:
    """The scene at ``path`` on ``device`` and, when it is a training run that records them, its training
    cameras (else None): a radiance field (``.safetensors``), a splat ``.ply``, or a nerfstudio / 3DGS /
    gsplat run folder; :class:`InputError` otherwise."""
    return representation_for_path(path).load(Path(path), torch.device(device))


def save_scene(scene, path: "str | os.PathLike") -> None:
    """Write ``scene`` to ``path`` atomically in its own representation's format."""
    representation_of(scene).save(scene, Path(path))


def render_scene(scene, cameras, width: int, height: int, background=(0.0, 0.0, 0.0), sh_degree=None,
                 backend: str = "auto"):
    """:meth:`Representation.render` of ``scene``'s representation (differentiable)."""
    return representation_of(scene).render(scene, cameras, width, height, background, sh_degree, backend)


def render_scene_all(scene, cameras, width: int, height: int, background=(1.0, 1.0, 1.0), sh_degree=None,
                     backend: str = "auto", batch: int = 4):
    """:meth:`Representation.render_all` of ``scene``'s representation: no gradient, rgb clamped, on the CPU."""
    return representation_of(scene).render_all(scene, cameras, width, height, background, sh_degree, backend, batch)
