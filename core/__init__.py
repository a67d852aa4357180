"""Shared core of the toolkit, and the 2D front end.

What lives here: the VGG19 encoder and decoders (:mod:`core.nn`), the losses and the one
:class:`~core.losses.objective.StyleObjective` (:mod:`core.losses`), colour transfer (:mod:`core.colour`), the
optimisation loop (:mod:`core.optimize`) and the stylization driver every front end runs on
(:mod:`core.stylization`), image/video I/O (:mod:`core.io`, :mod:`core.video.io`), the 2D image stylizers
(:mod:`core.image`), the video consistency module (:mod:`core.video`), diffusion priors (:mod:`core.priors`),
decoder training (:mod:`core.train`), metrics (:mod:`core.metrics`), and the CLI registry with its one
``run_job`` skeleton, errors, reports and the gallery. The core knows nothing of the 3D and vector front ends
(``stylize3d``, ``vector``); they build on it.

Image convention everywhere: float32 tensors ``B,3,H,W`` in ``[0, 1]``, RGB.

    from core import load_image, save_image, stylize_image, stylize_video, metrics
    image = stylize_image("photo.jpg", "starry_night.jpg", method="gatys", size=256, steps=50)
    save_image(image, "out.png")
    print(metrics.style_distance(image, load_image("starry_night.jpg", 256)))
    stylize_video("clip.mp4", "starry_night.jpg", "clip_starry.mp4", method="adain", size=256)

The names below are imported on first use, so ``import core`` stays cheap (the CLI's start-up).
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {"stylize_image": "core.image.methods", "load_image": "core.io.images", "save_image": "core.io.images",
            "stylize_video": "core.video.stylize", "metrics": None}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    module = _EXPORTS[name]
    value = importlib.import_module(f"core.{name}") if module is None else getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
