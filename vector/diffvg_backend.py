"""Optional backend: render a :class:`vector.model.Scene` with diffvg (``pydiffvg``) when it is installed.

pydiffvg is not on the package registry, so this module could not be run where it was written; it follows
diffvg's documented Python API. diffvg conventions handled here: ``stroke_width`` is half the SVG width,
one ``Path`` per subpath with 2 control points per cubic and no repeated point for closed paths, output
in straight (not premultiplied) alpha. Its limits: round joins and caps only; gradient geometry is mapped
through the shape's transform (exact for similarity transforms); focal points and spread are ignored.
"""

from __future__ import annotations

import torch

from core.errors import InputError
from vector.flatten import device_points, shape_to_device
from vector.model import Gradient, Scene, SolidPaint
from vector.svg_paint import compose


def _import():
    try:
        import pydiffvg
    except ImportError:
        raise InputError("backend diffvg needs pydiffvg, which is not installed (build it from github.com/BachiLi/diffvg)") from None
    return pydiffvg


def _color(pydiffvg, paint, alpha, matrix):
    if paint is None:
        return None
    if isinstance(paint, SolidPaint):
        return torch.cat([paint.rgb.clamp(0, 1), alpha.reshape(1)])
    colors = torch.cat([paint.stop_rgb, (paint.stop_opacity * alpha)[:, None]], dim=1)
    m = compose(matrix, paint.transform)
    apply = lambda p: m[:, :2] @ p + m[:, 2]  # noqa: E731
    g = paint.geometry
    if paint.kind == "linear":
        return pydiffvg.LinearGradient(begin=apply(g[0:2]), end=apply(g[2:4]), offsets=paint.offsets, stop_colors=colors)
    radius = g[2] * m[:, :2].det().abs().sqrt()
    return pydiffvg.RadialGradient(center=apply(g[0:2]), radius=torch.stack([radius, radius]), offsets=paint.offsets, stop_colors=colors)


def render_diffvg(scene: Scene, width: int, height: int, samples: int = 2) -> torch.Tensor:
    """Render with pydiffvg -> (1, 4, H, W) premultiplied RGBA, like :func:`vector.raster.render`."""
    pydiffvg = _import()
    mats = shape_to_device(scene, width, height)
    points = device_points(scene, mats)
    shapes, groups, base = [], [], 0
    for i, shape in enumerate(scene.shapes):
        ids = []
        scale = mats[i, :, :2].det().abs().sqrt()
        for first, n_seg, closed in shape.subpaths:
            pts = points[base + first : base + first + 3 * n_seg + 1]
            if closed:
                pts = pts[:-1]
            ids.append(len(shapes))
            shapes.append(
                pydiffvg.Path(
                    num_control_points=torch.full((n_seg,), 2, dtype=torch.int32),
                    points=pts.contiguous(),
                    is_closed=bool(closed),
                    stroke_width=shape.stroke_width * scale / 2,
                )
            )
        base += shape.points.shape[0]
        bbox_user = torch.cat([shape.points.amin(0), shape.points.amax(0)])
        opacity = shape.opacity * shape.inherited_opacity

        def paint_matrix(paint):
            if isinstance(paint, Gradient) and paint.units == "objectBoundingBox":
                size = bbox_user[2:] - bbox_user[:2]
                box = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]) * torch.stack([size[0], size[1]])[:, None]
                box[:, 2] = bbox_user[:2]
                return compose(mats[i], box)
            return mats[i]

        groups.append(
            pydiffvg.ShapeGroup(
                shape_ids=torch.tensor(ids, dtype=torch.int32),
                fill_color=_color(pydiffvg, shape.fill, shape.fill_opacity * opacity, paint_matrix(shape.fill)),
                stroke_color=_color(pydiffvg, shape.stroke, shape.stroke_opacity * opacity, paint_matrix(shape.stroke)),
                use_even_odd_rule=shape.fill_rule == "evenodd",
            )
        )
    args = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
    image = pydiffvg.RenderFunction.apply(width, height, samples, samples, 0, None, *args)  # H, W, 4 straight
    rgba = image.permute(2, 0, 1)[None]
    return torch.cat([rgba[:, :3] * rgba[:, 3:], rgba[:, 3:]], dim=1)
