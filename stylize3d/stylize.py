"""Stylize any 3D scene after a style picture: one call for every representation (ARF's recipe on core's driver).

The scene's representation (:mod:`stylize3d.representations`) builds the task (splats:
:mod:`stylize3d.splats.stylize`; radiance fields: :mod:`stylize3d.fields.stylize`); :func:`stylize_scene` runs it
on :func:`core.stylization.stylize` and returns a :class:`~stylize3d.scene_style.SceneStyleResult`.

    from stylize3d import load_scene, save_scene, stylize_scene
    result = stylize_scene("scenes/splats/sample_scene.ply", "scenes/images/starry_night.jpg", steps=20, size=64)
    save_scene(result.scene, "stylized.ply")
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

import torch

from core.config import field_names, replace_fields
from core.io.images import load_image
from core.optimize import Checkpoint
from core.stylization import Term, stylize
from stylize3d.cameras import Cameras
from stylize3d.representations import load_scene, representation_of
from stylize3d.scene_style import SceneStyleConfig, SceneStyleResult

DEFAULT_ORBIT_VIEWS = 24
"""Training views on an orbit fitted to the scene when no cameras are known (as ``stylize scene`` without
``--cameras``)."""


def default_cameras(scene, size: int, run_cameras: Optional[Cameras] = None, views: int = DEFAULT_ORBIT_VIEWS
                    ) -> Cameras:
    """The cameras a stylization trains on when none are given: the training run's own (``run_cameras``), else
    ``views`` on an orbit fitted to the scene's bounds at ``size x size`` px."""
    from stylize3d.camera_paths import path_around

    if run_cameras is not None:
        return run_cameras
    return path_around("orbit", views, size, size, scene=scene)


def split_settings(representation, config: Optional[SceneStyleConfig] = None, options=None, **fields):
    """``(config, options)``: the shared :class:`SceneStyleConfig` and the representation's own options
    (``representation.style_options``, or None) with the leaf ``fields`` set by plain name wherever they belong
    (``steps``, ``lr``, ``kind``, ``size``, ``optimize`` ...); unknown names raise ``TypeError``."""
    config = config or SceneStyleConfig()
    option_type = representation.style_options
    options = options if options is not None else (option_type() if option_type else None)
    own = {k: v for k, v in fields.items() if options is not None and k in set(field_names(options))}
    shared = {k: v for k, v in fields.items() if k not in own}
    if shared:
        config = replace_fields(config, **shared)
    if own:
        options = dataclasses.replace(options, **own)
    config.validate()
    if options is not None:
        options.validate()
    return config, options


def stylize_scene(scene, style, cameras: Optional[Cameras] = None, *, config: Optional[SceneStyleConfig] = None,
                  options=None, checkpoint: Optional[Checkpoint] = None, resume: bool = False, progress: bool = True,
                  terms: Sequence[Term] = (), device="cpu", **fields) -> SceneStyleResult:
    """Stylize a 3D scene of any representation after ``style``.

    ``scene``: a scene object (Gaussian splats, a radiance field) on its device, or a path :func:`load_scene` reads
    (loaded to ``device``). ``style``: ``1,3,h,w`` in [0,1], or an image path (read at the working size).
    ``cameras``: the training views; default the run's own (when ``scene`` is a training run path), else an orbit
    fitted to the scene. Settings: ``config`` / ``options`` (:class:`SceneStyleConfig` and the representation's
    ``style_options``) and/or their leaf fields by plain name (``steps=50, size=128, kind="gram", optimize="all"``).
    ``terms`` (e.g. SDS) are added to each step's loss. Ctrl-C keeps the last step's scene (no final colour
    transfer; ``result.stylization.interrupted``); ``checkpoint``/``resume`` continue a run, visiting the same views.
    """
    run_cameras = None
    if isinstance(scene, (str, os.PathLike)):
        scene, run_cameras = load_scene(scene, device)
    representation = representation_of(scene)
    config, options = split_settings(representation, config, options, **fields)
    if not isinstance(style, torch.Tensor):
        style = load_image(style, long_side=config.size, device=scene.device)
    cameras = cameras if cameras is not None else default_cameras(scene, config.size, run_cameras)
    task, objective = representation.style_task(scene, cameras, style.to(scene.device), config, options)
    result = stylize(task, objective, config.loop, terms, checkpoint=checkpoint, resume=resume, progress=progress,
                     desc=f"stylizing {representation.name}", seed=config.seed)
    return task.result(result)
