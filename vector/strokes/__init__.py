"""Painterly rendering with curved brush strokes (Hertzmann 1998), written as an editable SVG of strokes.

``presets`` (the paper's styles), ``hertzmann`` (stroke placement), ``curves`` (Catmull-Rom -> cubic Béziers),
``render`` (a vectorised, differentiable round-capped stroke rasterizer), ``svg`` (the SVG writer), ``painter``
(:func:`~vector.strokes.painter.paint`: a photo path or tensor painted in one call, exported as ``vector.paint``),
``stylize`` (:func:`~vector.strokes.stylize.stylize_strokes`: strokes optimised toward a style picture), ``video``
(strokes carried along the optical flow), ``cli`` / ``video_cli`` (``stylize paint``).
"""
