"""The radiance-field file: one ``.safetensors`` file per :class:`~stylize3d.fields.grid.RadianceField`.

It holds the tensors ``density``, ``colour``, ``occupancy`` (uint8) and the JSON metadata ``{"format":
"stylize3d-field", "version": 1, "box_min", "box_max", "density_shift", "sh_degree", "contracted", "background"}``
in the safetensors header (under the key ``stylize3d``). Writes are atomic; reads refuse missing, truncated,
foreign, other-version and inconsistent files with one-line :class:`~core.errors.InputError` messages.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from core.atomic import atomic_output
from core.errors import InputError
from stylize3d.fields.grid import RadianceField

FIELD_FORMAT = "stylize3d-field"
FIELD_VERSION = 1
FIELD_SUFFIX = ".safetensors"


def save_field(field: RadianceField, path: "str | os.PathLike") -> Path:
    """Write ``field`` to ``path`` (``.safetensors``) atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    meta = {"format": FIELD_FORMAT, "version": FIELD_VERSION, "box_min": field.box_min.tolist(),
            "box_max": field.box_max.tolist(), "density_shift": field.density_shift, "sh_degree": field.sh_degree,
            "contracted": field.contracted, "background": list(field.background) if field.background else None}
    tensors = {"density": field.density.detach().float().cpu().contiguous(),
               "colour": field.colour.detach().float().cpu().contiguous(),
               "occupancy": field.occupancy.to(torch.uint8).cpu().contiguous()}
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={"stylize3d": json.dumps(meta)})
    return path


def is_field_file(path: "str | os.PathLike") -> bool:
    """Whether ``path`` names a field file, by its suffix (``.safetensors``, any case); the file is not read."""
    return Path(path).suffix.lower() == FIELD_SUFFIX


def load_field(path: "str | os.PathLike", device="cpu") -> RadianceField:
    """Read a field file; :class:`InputError` (one line) for missing, truncated or foreign files and other versions."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"field file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for truncated / corrupt headers
        raise InputError(f"{path}: not a readable field file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                         "is it truncated?") from None
    try:
        meta = json.loads(header.get("stylize3d", "null"))
    except (json.JSONDecodeError, RecursionError):  # RecursionError: hostile nesting
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FIELD_FORMAT:
        raise InputError(f"{path}: a safetensors file but not a stylize3d radiance field")
    if meta.get("version") != FIELD_VERSION:
        raise InputError(f"{path}: field file version {meta.get('version')} is not supported (this build reads "
                         f"version {FIELD_VERSION})")
    missing = {"density", "colour", "occupancy"} - set(tensors)
    if missing:
        raise InputError(f"{path}: field file lacks {', '.join(sorted(missing))}")
    try:
        field = RadianceField(tensors["density"].float(), tensors["colour"].float(), tensors["occupancy"].bool(),
                              torch.tensor(meta["box_min"], dtype=torch.float32),
                              torch.tensor(meta["box_max"], dtype=torch.float32), float(meta["density_shift"]),
                              bool(meta.get("contracted", False)),
                              tuple(meta["background"]) if meta.get("background") else None)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{path}: inconsistent field file ({' '.join(str(exc).split())[:120]})") from None
    _check_consistent(field, path)
    return field.to(device)


def _check_consistent(field: RadianceField, path: Path) -> None:
    """Refuse a field whose box or numbers cannot describe a scene (grid shapes are checked by the class)."""
    box_ok = (field.box_min.shape == (3,) and field.box_max.shape == (3,) and bool(torch.isfinite(field.box_min).all())
              and bool(torch.isfinite(field.box_max).all()) and bool((field.box_max > field.box_min).all()))
    if not (box_ok and min(field.resolution) >= 2 and math.isfinite(field.density_shift)):
        raise InputError(f"{path}: inconsistent field file (box {str(field.box_min.tolist())[:60]} .. "
                         f"{str(field.box_max.tolist())[:60]}, grid {field.resolution}, density shift "
                         f"{field.density_shift})")
