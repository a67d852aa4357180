"""Paint a photo with brush strokes in one call: :func:`paint` (exported as ``vector.paint``).

    from vector import paint
    painting = paint("photo.jpg", "expressionist", size=256)
    painting.write_svg("painting.svg")       # one <path> per stroke, one <g id="brush-R"> per brush

The painter itself is :func:`vector.strokes.hertzmann.paint` (a tensor and a :class:`PaintStyle`); this adds
paths, preset names and style fields by name.
"""

from __future__ import annotations

import os
from typing import Union

import torch

from core.io.images import load_image
from vector.strokes import hertzmann
from vector.strokes.presets import PaintStyle, paint_style


def paint(photo: Union[torch.Tensor, str, os.PathLike], style: Union[str, PaintStyle] = "impressionist", *,
          size: int = 512, seed: int = 0, background=(1.0, 1.0, 1.0), **fields) -> hertzmann.Painting:
    """Paint ``photo`` with curved brush strokes (Hertzmann 1998); same seed, same strokes.

    ``photo``: ``1,3,H,W`` in [0,1] (used as it is), or an image path read at ``size`` px on the long side.
    ``style``: a preset name (``impressionist``, ``expressionist``, ``colorist-wash``, ``pointillist``) or a
    :class:`PaintStyle`; ``fields`` override its values by name (``brushes=(8, 4), threshold=50``).
    ``background``: the canvas colour (RGB in [0,1]). Returns the :class:`~vector.strokes.hertzmann.Painting`
    (``strokes``, ``canvas`` ``3,H,W`` in [0,1], ``svg_text()``, ``write_svg(path)``); runs on the CPU.
    """
    style = paint_style(style, **fields)
    if not isinstance(photo, torch.Tensor):
        photo = load_image(photo, long_side=size)
    with torch.no_grad():
        return hertzmann.paint(photo.cpu(), style, seed=seed, background=background)
