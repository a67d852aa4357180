"""Hertzmann's painterly rendering ("Painterly Rendering with Curved Brush Strokes of Multiple Sizes",
SIGGRAPH 1998), vectorised.

For each brush radius R, largest first: the reference is the source blurred with a Gaussian of
sigma = f_sigma * R; on a grid of spacing f_g * R, every cell whose mean colour distance between canvas and
reference exceeds T starts a stroke at its largest-error pixel; ``makeSplineStroke`` then walks R pixels at a
time normal to the luminance gradient (Sobel of the blurred reference's luminance 0.30 R + 0.59 G + 0.11 B),
smoothed by the curvature filter f_c, and stops at ``max_length`` points, where the gradient vanishes, at the
image border, or (after ``min_length`` points) where the reference is closer to the canvas than to the
stroke's colour. The layer's strokes are painted in random order over the canvas. The canvas starts as a
colour infinitely far from every colour (the paper's blank canvas), so the first layer covers it all.

Every stroke of a layer is grown at once (one tensor step per control point); cells, errors and colours are
whole-image tensor operations; the canvas is composited by :mod:`vector.strokes.render`.

Deviation to note: strokes that end before ``min_length`` (vanishing gradient, image border) are kept, as in
the paper's pseudo-code, where ``minStrokeLength`` only delays the colour test; dropping them would leave holes
(a flat image would get no strokes at all).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from core.atomic import atomic_output
from vector.strokes.curves import Strokes
from vector.strokes.presets import PaintStyle
from vector.strokes.render import composite
from vector.strokes.svg import svg_text

UNPAINTED = 1.0e4
"""Colour distance (0..255 scale) of a never-painted pixel: larger than any real one (441.7)."""
LUMA = (0.30, 0.59, 0.11)


@dataclass
class Painting:
    """``strokes`` in painting order; ``canvas`` (3, H, W) the internal rendering; per layer: ``radii``,
    ``stroke_counts``, ``errors`` (mean RGB distance, 0..255, of the canvas to the source after the layer)."""

    strokes: Strokes
    canvas: torch.Tensor
    radii: tuple
    stroke_counts: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    background: tuple = (1.0, 1.0, 1.0)

    def svg_text(self) -> str:
        """The strokes as an SVG document at the canvas size (one ``<g id="brush-R">`` per layer)."""
        _, height, width = self.canvas.shape
        return svg_text(self.strokes, width, height, self.radii, self.background)

    def write_svg(self, path: "str | os.PathLike") -> None:
        """Write :meth:`svg_text` to ``path`` (atomically: the file appears complete or not at all)."""
        with atomic_output(path) as tmp:
            tmp.write_text(self.svg_text(), encoding="utf-8")


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of ``1,C,H,W`` (radius ceil(3 sigma), edges replicated); sigma <= 0: a copy."""
    if sigma <= 0:
        return image.clone()
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = image.shape[1]
    out = F.pad(image, (radius, radius, 0, 0), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def sobel_gradient(image: torch.Tensor) -> tuple:
    """Sobel gradient ``(gx, gy)`` (each H, W) of the luminance of ``1,3,H,W`` (edges replicated)."""
    lum = sum(w * image[:, i:i + 1] for i, w in enumerate(LUMA))
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=image.dtype, device=image.device)
    padded = F.pad(lum, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kx.view(1, 1, 3, 3))[0, 0]
    gy = F.conv2d(padded, kx.t().reshape(1, 1, 3, 3))[0, 0]
    return gx, gy


def grid_starts(error: torch.Tensor, step: int, threshold: float) -> torch.Tensor:
    """Stroke starts: for each ``step`` x ``step`` cell (tiling from the top-left) whose mean ``error`` (H, W)
    exceeds ``threshold``, its largest-error pixel (ties: nearest the cell centre). Returns (K, 2) long (i, j)."""
    h, w = error.shape
    gh, gw = -(-h // step), -(-w // step)
    padded = F.pad(error, (0, gw * step - w, 0, gh * step - h), value=float("nan"))
    cells = padded.reshape(gh, step, gw, step).permute(0, 2, 1, 3).reshape(gh, gw, step * step)
    area = torch.nanmean(cells, dim=-1)
    offs = torch.arange(step, dtype=error.dtype, device=error.device) - (step - 1) / 2
    bias = -1e-4 * (offs[:, None] ** 2 + offs[None, :] ** 2).reshape(-1)
    best = torch.nan_to_num(cells, nan=-math.inf).add(bias).argmax(-1)
    ci, cj = torch.nonzero(area > threshold, as_tuple=True)
    k = best[ci, cj]
    return torch.stack([ci * step + torch.div(k, step, rounding_mode="floor"), cj * step + k % step], dim=1)


def make_spline_strokes(starts: torch.Tensor, radius: float, reference: torch.Tensor, canvas_distance,
                        canvas: torch.Tensor, gradient: tuple, style: PaintStyle) -> tuple:
    """``makeSplineStroke`` for all ``starts`` (K, 2) (i, j) at once.

    ``reference``, ``canvas`` (3, H, W) in [0, 1]; ``canvas_distance`` (H, W) |reference - canvas| (0..255,
    ``UNPAINTED`` where nothing is painted yet). Returns ``(points (K, max_length + 1, 2) xy, count (K,),
    colour (K, 3))``.
    """
    _, h, w = reference.shape
    gx, gy = gradient
    ref = reference.reshape(3, -1)
    colour = ref[:, starts[:, 0] * w + starts[:, 1]].t()              # stroke colour: the reference at the start
    pos = torch.stack([starts[:, 1], starts[:, 0]], dim=1).to(reference.dtype) + 0.5
    last = torch.zeros_like(pos)
    alive = torch.ones(len(starts), dtype=torch.bool, device=pos.device)
    count = torch.ones(len(starts), dtype=torch.long, device=pos.device)
    points = [pos]
    dist = canvas_distance.reshape(-1)
    for i in range(1, style.max_length + 1):
        pix = (pos[:, 1].long().clamp(0, h - 1) * w + pos[:, 0].long().clamp(0, w - 1))
        if i > style.min_length:
            to_canvas = dist[pix]
            to_stroke = (ref[:, pix].t() - colour).norm(dim=1) * 255
            alive &= ~(to_canvas < to_stroke)
        g = torch.stack([gx.reshape(-1)[pix], gy.reshape(-1)[pix]], dim=1)
        mag = g.norm(dim=1)
        alive &= mag > 1e-6
        d = torch.stack([-g[:, 1], g[:, 0]], dim=1) / mag.clamp(min=1e-12)[:, None]
        d = torch.where(((last * d).sum(1) < 0)[:, None], -d, d)
        d = style.curvature * d + (1 - style.curvature) * last
        dn = d.norm(dim=1)
        alive &= dn > 1e-6
        d = d / dn.clamp(min=1e-12)[:, None]
        new = pos + radius * d
        alive &= (new[:, 0] >= 0) & (new[:, 0] <= w) & (new[:, 1] >= 0) & (new[:, 1] <= h)
        pos = torch.where(alive[:, None], new, pos)
        last = torch.where(alive[:, None], d, last)
        count += alive.long()
        points.append(pos)
        if not bool(alive.any()):
            break
    return torch.stack(points, dim=1), count, colour


def _rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """(K, 3) RGB in [0, 1] -> (K, 3) HSV with hue in turns [0, 1)."""
    r, g, b = rgb.unbind(1)
    v, arg = rgb.max(1)
    c = v - rgb.min(1).values
    safe = c.clamp(min=1e-12)
    hue = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4], 1).gather(1, arg[:, None])[:, 0]
    hue = torch.where(c > 0, hue / 6, torch.zeros_like(hue))
    s = torch.where(v > 0, c / v.clamp(min=1e-12), torch.zeros_like(v))
    return torch.stack([hue, s, v], 1)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    h, s, v = hsv.unbind(1)
    k = (torch.tensor([5.0, 3.0, 1.0], device=hsv.device)[None, :] + h[:, None] * 6) % 6
    return v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


def jitter_colours(colour: torch.Tensor, style: PaintStyle, generator: torch.Generator) -> torch.Tensor:
    """Add the style's uniform colour jitter (+- j/2 per component: h, s, v, then r, g, b), clamped to [0, 1]."""
    def u(n, amount):
        return (torch.rand(n, generator=generator, dtype=colour.dtype) - 0.5) * amount
    n = len(colour)
    if style.jitter_hue or style.jitter_saturation or style.jitter_value:
        hsv = _rgb_to_hsv(colour)
        hsv = torch.stack([(hsv[:, 0] + u(n, style.jitter_hue)) % 1.0,
                           (hsv[:, 1] + u(n, style.jitter_saturation)).clamp(0, 1),
                           (hsv[:, 2] + u(n, style.jitter_value)).clamp(0, 1)], 1)
        colour = _hsv_to_rgb(hsv)
    if style.jitter_r or style.jitter_g or style.jitter_b:
        colour = colour + torch.stack([u(n, style.jitter_r), u(n, style.jitter_g), u(n, style.jitter_b)], 1)
    return colour.clamp(0, 1)


@dataclass
class Underpainting:
    """What a new painting starts from instead of the blank canvas (painting over, Hertzmann 2000).

    ``strokes`` are kept, in order, under the new ones (their ``layer`` indices refer to the same brushes);
    ``repaint`` (H, W) bool: where new strokes may start (None: everywhere); pixels no kept stroke covers count
    as unpainted wherever they are.
    """

    strokes: Strokes
    repaint: "torch.Tensor | None" = None


def paint(source: torch.Tensor, style: PaintStyle, seed: int = 0, background=(1.0, 1.0, 1.0),
          over: "Underpainting | None" = None) -> Painting:
    """Paint ``source`` (1, 3, H, W) in [0, 1] (CPU) with ``style``; same seed, same strokes.

    With ``over``, the canvas starts as its strokes rendered over ``background`` and new strokes start only in
    ``over.repaint``, where the canvas still differs from each layer's reference by more than the threshold.
    The result's strokes are ``over.strokes`` followed by the new ones; ``stroke_counts`` counts new strokes.
    """
    style.validate()
    generator = torch.Generator().manual_seed(seed)
    src = source[0].float()
    _, h, w = src.shape
    canvas = torch.tensor(background, dtype=src.dtype)[:, None, None].expand(3, h, w).clone()
    painted = torch.zeros(h, w, dtype=torch.bool)
    layers, counts, errors = [], [], []
    allowed = None
    if over is not None:
        layers.append(over.strokes)
        if len(over.strokes):
            canvas, transmit = composite(over.strokes, h, w, canvas, with_transmittance=True)
            painted = transmit < 1
        allowed = over.repaint
    for index, radius in enumerate(style.brushes):
        reference = gaussian_blur(src[None], style.blur_factor * radius)
        distance = (canvas - reference[0]).norm(dim=0) * 255
        distance = torch.where(painted, distance, torch.full_like(distance, UNPAINTED))
        start_error = distance if allowed is None else torch.where(allowed | ~painted, distance, 0.0)
        starts = grid_starts(start_error, max(1, round(style.grid_factor * radius)), style.threshold)
        points, count, colour = make_spline_strokes(starts, float(radius), reference[0], distance, canvas,
                                                    sobel_gradient(reference), style)
        colour = jitter_colours(colour, style, generator)
        order = torch.randperm(len(starts), generator=generator)
        k = len(starts)
        layer = Strokes(points[order], count[order], torch.full((k,), float(radius)), colour[order],
                        torch.full((k,), float(style.opacity)), torch.full((k,), index, dtype=torch.long))
        if k:
            canvas, transmit = composite(layer, h, w, canvas, with_transmittance=True)
            painted |= transmit < 1
        layers.append(layer)
        counts.append(k)
        errors.append(float((canvas - src).norm(dim=0).mean() * 255))
    return Painting(Strokes.cat(layers), canvas, tuple(style.brushes), counts, errors, tuple(background))
