"""One call for every 2D stylization method: :func:`stylize_image`.

    from core import load_image, save_image, stylize_image
    image = stylize_image("photo.jpg", "starry_night.jpg", method="gatys", size=256, steps=50)
    save_image(image, "out.png")

Methods: ``gatys`` (optimisation, :func:`core.image.gatys.stylize_gatys`; settings are :class:`GatysConfig` fields
by plain name), ``adain`` / ``wct`` (feed-forward decoder, :func:`core.image.feedforward.stylize_feedforward`;
``alpha``, ``blend``, ``mask``, ``preserve_color``, ``decoder_path``), ``fast`` (a few Gram steps at 208 px plus the
photo's detail, :func:`core.image.fast.stylize_fast`; one style; settings are :class:`FastConfig` fields),
``styleid`` / ``zstar`` (Stable Diffusion attention injection, :mod:`core.priors`; ``model=`` a local diffusers
folder, and their own keyword arguments).
"""

from __future__ import annotations

import os
from typing import Sequence, Union

import torch

from core.config import replace_fields
from core.errors import InputError
from core.image.method_names import IMAGE_METHODS
from core.io.images import load_image

Image = Union[torch.Tensor, str, os.PathLike]
"""A ``1,3,H,W`` tensor in [0,1], or a path to an image file."""


def _as_tensor(image: Image, long_side: "int | None", device) -> torch.Tensor:
    if isinstance(image, torch.Tensor):
        return image.to(device)
    return load_image(image, long_side=long_side, device=device)


def stylize_image(content: Image, style: "Image | Sequence[Image]", method: str = "gatys", *, size: int = 512,
                  device="cpu", progress: bool = False, **config) -> torch.Tensor:
    """Stylize ``content`` after ``style`` (one image, or several to blend for gatys/adain/wct) with ``method``;
    returns ``1,3,H,W`` in [0,1] on ``device``.

    Paths are read at ``size`` px on the long side (the style at ``size · style_scale`` for gatys); tensors are
    used as they are. ``config``: the method's settings by plain name (see the module docstring), e.g.
    ``steps=100, style_weight=50`` for gatys, ``alpha=0.8`` for adain, ``model="sd-folder", steps=20`` for styleid.
    """
    if method not in IMAGE_METHODS:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(IMAGE_METHODS)}")
    content = _as_tensor(content, size, device)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if method == "gatys":
        from core.image.gatys import GatysConfig, stylize_gatys

        options = {k: config.pop(k) for k in ("blend", "mask") if k in config}
        gatys = replace_fields(GatysConfig, **config)
        gatys.validate()
        style_side = max(16, round(max(content.shape[-2:]) * gatys.loss.style_scale))
        return stylize_gatys(content, [_as_tensor(s, style_side, device) for s in styles], gatys, progress=progress,
                             **options).image
    if method in ("adain", "wct"):
        from core.image.feedforward import stylize_feedforward

        return stylize_feedforward(content, [_as_tensor(s, size, device) for s in styles], method=method,
                                   device=device, **config)
    if len(styles) != 1:
        raise InputError(f"method {method} takes exactly one style image")
    if method == "fast":
        from core.image.fast import FastConfig, stylize_fast

        fast = replace_fields(FastConfig, **config)
        fast.validate()
        return stylize_fast(content, _as_tensor(styles[0], fast.style_side(size), device), fast, progress=progress)
    if config.get("model") is None:
        raise InputError(f"method {method} needs model=PATH (a local Stable Diffusion folder in diffusers layout)")
    from core.priors.style_injection import stylize_styleid
    from core.priors.zstar import stylize_zstar

    run = stylize_zstar if method == "zstar" else stylize_styleid
    model = config.pop("model")
    return run(content, _as_tensor(styles[0], size, device), model, device=device, progress=progress, **config)
