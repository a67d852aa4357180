"""The vector front end's command table for the ``stylize`` CLI (entry point ``stylize.commands``; contract:
:mod:`core.cli`). Imports nothing heavy: ``stylize --help`` reads it without importing the commands."""

from core.cli import Command

COMMANDS = {
    "svg": Command("restyle an SVG after a style image; the result stays an editable SVG", "vector.cli:register_svg"),
    "svg-render": Command("render an SVG with the toolkit's differentiable rasterizer", "vector.cli:register_render"),
    "paint": Command("paint a photo with curved brush strokes (Hertzmann 1998) as an editable SVG",
                     "vector.strokes.cli:register"),
}
