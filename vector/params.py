"""Optimisation variables of a scene: unit-scale offsets from the parsed values, with projections.

Every optimised tensor ``T`` is driven by a leaf ``delta`` of the same shape: ``T = T₀ + s·delta`` (points,
colours, opacities) or ``T = T₀·exp(s·delta)`` (stroke widths), with a per-kind step ``s`` so one Adam
learning rate fits all: points move about ``POINT_STEP_PX`` output pixels per unit, colours ``COLOR_STEP``.
After each step :meth:`SceneParams.project` keeps colours and opacities in [0, 1], widths within
``[0.5, 2]×`` the original and every control point within ``max_shift_px`` of where it started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vector.flatten import shape_to_device
from vector.model import Gradient, Scene, SolidPaint
from vector.svg_paint import unit_clamp

POINT_STEP_PX = 0.25
COLOR_STEP = 0.01
OPACITY_STEP = 0.01
WIDTH_STEP = 0.02
WIDTH_RANGE = (0.5, 2.0)


@dataclass
class _Var:
    owner: object
    name: str
    base: torch.Tensor
    delta: torch.Tensor
    step: "float | torch.Tensor"
    kind: str  # "add01" (clamped to [0, 1]), "points", "width", "free"


class SceneParams:
    """The leaves to optimise for ``kinds`` (subset of :data:`vector.model.PARAM_KINDS`) of ``scene``."""

    def __init__(self, scene: Scene, kinds, width: int, height: int, max_shift_px: float = 8.0):
        self.scene = scene
        self.vars: list = []
        self.max_shift_px = max_shift_px
        mats = shape_to_device(scene, width, height)
        seen = set()

        def add(owner, name, step, kind):
            base = getattr(owner, name).detach().clone()
            if id(getattr(owner, name)) in seen:
                return
            seen.add(id(getattr(owner, name)))
            self.vars.append(_Var(owner, name, base, torch.zeros_like(base, requires_grad=True), step, kind))

        for i, shape in enumerate(scene.shapes):
            if shape.frozen:
                continue
            px_per_unit = float(mats[i, :, :2].det().abs().sqrt())
            if "points" in kinds:
                add(shape, "points", POINT_STEP_PX / max(px_per_unit, 1e-9), "points")
            if "widths" in kinds and shape.stroke is not None:
                add(shape, "stroke_width", WIDTH_STEP, "width")
            if "opacity" in kinds:
                for paint, name in ((shape.fill, "fill_opacity"), (shape.stroke, "stroke_opacity")):
                    if paint is not None:
                        add(shape, name, OPACITY_STEP, "add01")
            if "colors" in kinds:
                for paint in (shape.fill, shape.stroke):
                    if isinstance(paint, SolidPaint):
                        add(paint, "rgb", COLOR_STEP, "add01")
                    elif isinstance(paint, Gradient):
                        add(paint, "stop_rgb", COLOR_STEP, "add01")
            for paint in (shape.fill, shape.stroke):
                if isinstance(paint, Gradient) and "points" in kinds and paint.units == "userSpaceOnUse":
                    add(paint, "geometry", POINT_STEP_PX / max(px_per_unit, 1e-9), "free")

    @property
    def leaves(self) -> list:
        return [v.delta for v in self.vars]

    def apply(self) -> None:
        """Write the current values (differentiable in the leaves) into the scene."""
        for v in self.vars:
            if v.kind == "width":
                value = v.base * torch.exp(v.step * v.delta)
            elif v.kind == "add01":  # the projection keeps it in range; the clamp only absorbs rounding
                value = unit_clamp(v.base + v.step * v.delta)
            else:
                value = v.base + v.step * v.delta
            setattr(v.owner, v.name, value)

    @torch.no_grad()
    def project(self) -> None:
        """Clamp the leaves so values stay in range (call after each optimiser step)."""
        for v in self.vars:
            if v.kind == "add01":
                v.delta.copy_(torch.maximum(torch.minimum(v.delta, (1 - v.base) / v.step), -v.base / v.step))
            elif v.kind == "width":
                lo, hi = (math.log(r) / v.step for r in WIDTH_RANGE)
                v.delta.clamp_(lo, hi)
            elif v.kind == "points":
                limit = self.max_shift_px / POINT_STEP_PX
                norm = v.delta.norm(dim=-1, keepdim=True)
                v.delta.mul_(torch.clamp(limit / norm.clamp_min(1e-12), max=1.0))

    def finish(self) -> None:
        """Store the final values as plain tensors in the scene (for the writer)."""
        with torch.no_grad():
            self.apply()
        for v in self.vars:
            setattr(v.owner, v.name, getattr(v.owner, v.name).detach())
