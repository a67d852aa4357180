"""Radiance fields in the representation registry (:mod:`stylize3d.representations`): ``.safetensors`` grids
written by ``stylize fit --model field``, rendered by :func:`stylize3d.fields.render.render_field` (on the server
in ``stylize view``), stylized and edited by :mod:`stylize3d.fields.stylize`, fitted by
:mod:`stylize3d.fields.fit_cli`."""

from __future__ import annotations

from pathlib import Path

from stylize3d.fields.io import FIELD_SUFFIX, is_field_file, load_field, save_field
from stylize3d.fields.render import render_field
from stylize3d.fields.stylize import LEAF_SCALE, field_edit_task, field_style_task
from stylize3d.representations import Representation


class Field(Representation):
    name = "field"
    suffix = FIELD_SUFFIX
    fit_help = "a dense-grid radiance field, written as a .safetensors"

    def accepts(self, path: Path) -> bool:
        return is_field_file(path)

    def load(self, path, device):
        return load_field(path, device), None

    def save(self, scene, path) -> None:
        save_field(scene, path)

    def render(self, scene, cameras, width, height, background=(0.0, 0.0, 0.0), sh_degree=None, backend="auto"):
        """:func:`render_field` (``sh_degree`` and ``backend`` do not apply: the field's own degree, torch)."""
        return render_field(scene, cameras, width, height, background)

    def bounds(self, scene):
        return scene.box_min, scene.box_max

    def sizes(self, scene) -> dict:
        return {"resolution": list(scene.resolution[::-1])}

    def checkpoint_meta(self) -> dict:
        return {"field_leaf_scale": LEAF_SCALE}  # the parameters saved are colour / LEAF_SCALE

    def style_task(self, scene, cameras, style, config, options):
        return field_style_task(scene, cameras, style, config)

    def edit_task(self, scene, cameras, config, options):
        return field_edit_task(scene, cameras, config)

    def fit(self, data, device, source=None, progress=True, seed: int = 0, **config):
        from core.config import replace_fields
        from stylize3d.fields.fit import FieldFitConfig, fit_field

        return fit_field(data, replace_fields(FieldFitConfig, **config), device, seed=seed, progress=progress).field

    def add_fit_options(self, parser) -> None:
        from stylize3d.fields.fit_cli import add_field_options

        add_field_options(parser)

    def run_fit(self, job, data) -> int:
        from stylize3d.fields.fit_cli import run_field

        return run_field(job, data)


FIELD = Field()
