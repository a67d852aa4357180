"""Painterly rendering with curved brush strokes (Hertzmann 1998), written as an editable SVG of strokes.

``presets`` (the paper's styles), ``hertzmann`` (stroke placement), ``curves`` (Catmull-Rom -> cubic Béziers),
``render`` (a vectorised, differentiable round-capped stroke rasterizer), ``svg`` (the SVG writer), ``cli``.
"""
