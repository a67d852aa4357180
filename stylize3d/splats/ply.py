"""Read and write 3D Gaussian Splatting PLY files (Inria 3DGS / nerfstudio / gsplat layout).

Layout of one vertex: ``x y z [nx ny nz] f_dc_0..2 f_rest_0..M-1 opacity scale_0..2 rot_0..3`` with ``f_rest``
channel-major (all R coefficients, then G, then B), opacity a logit, scales natural logs, rotation ``w x y z``.
Reading accepts binary little- and big-endian and ASCII files, any numeric property type, with or without
normals and with extra properties (ignored). Writing produces binary little-endian float32 with exactly the
standard fields (normals written as zeros), which SuperSplat and other viewers open.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from core.atomic import atomic_output
from core.errors import InputError
from stylize3d.splats.scene import GaussianScene, num_sh_coeffs, sh_degree_from_coeffs

PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
FORMATS = {"binary_little_endian": "<", "binary_big_endian": ">", "ascii": None}
REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
            "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
MAX_HEADER_BYTES = 1 << 20
MAX_GAUSSIANS = 20_000_000
"""PLY files declaring more Gaussians are refused before anything is allocated (about 4.7 GB of float32 at SH
degree 3, times a few while rendering or training). Raise it here for machines with the memory."""


class _Header:
    """Parsed PLY header: format, vertex count, vertex properties and where the data starts."""

    def __init__(self, fmt: str, count: int, properties: list[tuple[str, str]], data_offset: int):
        self.fmt = fmt
        self.count = count
        self.properties = properties
        self.data_offset = data_offset

    def dtype(self) -> np.dtype:
        order = FORMATS[self.fmt] or "<"
        return np.dtype([(name, order + PLY_TYPES[kind]) for name, kind in self.properties])


def _count_of(words: list[str], line: str, path: Path) -> int:
    """The element count of an ``element NAME COUNT`` line: a non-negative integer."""
    try:
        count = int(words[2])
    except (IndexError, ValueError):
        raise InputError(f"{path}: PLY element line {line.strip()[:60]!r} has no integer count") from None
    if count < 0:
        raise InputError(f"{path}: PLY element {words[1]!r} declares a negative count ({count})")
    return count


def _parse_header(raw: bytes, path: Path) -> _Header:
    if not raw.startswith(b"ply"):
        raise InputError(f"{path} is not a PLY file (it does not start with 'ply')")
    end = raw.find(b"end_header")
    if end < 0:
        raise InputError(f"{path}: PLY header has no 'end_header' line")
    newline = raw.find(b"\n", end)
    if newline < 0 or raw[end + len(b"end_header"):newline].strip():
        raise InputError(f"{path}: PLY 'end_header' is not a line of its own followed by data")
    lines = raw[:end].decode("ascii", errors="replace").splitlines()[1:]
    fmt, count, properties, current = None, None, [], None
    for line in lines:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            if len(words) < 2 or words[1] not in FORMATS:
                raise InputError(f"{path}: unsupported PLY format line {line.strip()[:60]!r}")
            fmt = words[1]
        elif words[0] == "element":
            element_count = _count_of(words, line, path)
            current = words[1]
            if current == "vertex":
                if count is not None:
                    raise InputError(f"{path}: PLY header declares the vertex element twice")
                count = element_count
            elif count is None and element_count > 0:
                raise InputError(f"{path}: PLY element {current!r} comes before 'vertex'; not a Gaussian splat file")
        elif words[0] == "property" and current == "vertex":
            if len(words) < 3:
                raise InputError(f"{path}: PLY property line {line.strip()[:60]!r} lacks a type or a name")
            if words[1] == "list":
                raise InputError(f"{path}: vertex property {words[-1]!r} is a list; not a Gaussian splat file")
            if words[1] not in PLY_TYPES:
                raise InputError(f"{path}: unknown PLY property type {words[1][:30]!r}")
            if any(words[2] == name for name, _ in properties):
                raise InputError(f"{path}: vertex property {words[2][:30]!r} is declared twice")
            properties.append((words[2], words[1]))
    if fmt is None or count is None:
        raise InputError(f"{path}: PLY header lacks a format line or a vertex element")
    return _Header(fmt, count, properties, newline + 1)


def _check_count(raw: bytes, header: _Header, path: Path) -> None:
    """Refuse a vertex count above :data:`MAX_GAUSSIANS` or larger than the file can hold, before allocating."""
    if header.count > MAX_GAUSSIANS:
        raise InputError(f"{path}: PLY declares {header.count:,} Gaussians, more than the limit of "
                         f"{MAX_GAUSSIANS:,} (stylize3d.splats.ply.MAX_GAUSSIANS)")
    available = len(raw) - header.data_offset
    if header.fmt == "ascii":  # every value takes at least one character and one separator
        needed = 2 * header.count * len(header.properties) - 1
    else:
        needed = header.count * header.dtype().itemsize
    if available < needed:
        raise InputError(f"{path}: PLY is truncated: {header.count:,} Gaussians need at least {needed:,} data bytes, "
                         f"the file has {available:,}")


def _read_rows(raw: bytes, header: _Header, path: Path) -> np.ndarray:
    _check_count(raw, header, path)
    dtype = header.dtype()
    if header.fmt == "ascii":
        text = raw[header.data_offset:].decode("ascii", errors="replace").split()
        needed = header.count * len(header.properties)
        if len(text) < needed:
            raise InputError(f"{path}: ASCII PLY is truncated ({len(text)} of {needed} values)")
        try:
            values = np.asarray(text[:needed], dtype=np.float64).reshape(header.count, len(header.properties))
        except ValueError as exc:
            raise InputError(f"{path}: ASCII PLY holds a non-numeric value ({exc})") from None
        rows = np.empty(header.count, dtype=dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # out-of-range values in integer properties wrap
            for i, (name, _) in enumerate(header.properties):
                rows[name] = values[:, i]
        return rows
    return np.frombuffer(raw, dtype=dtype, count=header.count, offset=header.data_offset)


def _column(rows: np.ndarray, name: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # doubles beyond float32 become inf; such rows are dropped
        return rows[name].astype(np.float32)


def read_ply(path: "str | os.PathLike") -> GaussianScene:
    """Load a Gaussian splat PLY into a float32 :class:`GaussianScene` on the CPU.

    Rows with any non-finite value are dropped with a ``UserWarning``. Raises :class:`InputError` for a
    missing or unreadable file, missing properties (all named), a ``f_rest`` count that is not degree 0-3,
    or zero Gaussians.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"scene file {path} does not exist")
    raw = path.read_bytes()
    header = _parse_header(raw[:MAX_HEADER_BYTES], path)
    names = [name for name, _ in header.properties]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise InputError(f"{path}: PLY lacks Gaussian properties {', '.join(missing)}")
    found_rest = {n for n in names if n.startswith("f_rest_")}
    rest_names = [f"f_rest_{i}" for i in range(len(found_rest))]
    if len(rest_names) % 3 or found_rest != set(rest_names):
        raise InputError(f"{path}: f_rest properties are not f_rest_0..f_rest_{3 * (len(rest_names) // 3) - 1}")
    try:
        degree = sh_degree_from_coeffs(1 + len(rest_names) // 3)
    except ValueError:
        raise InputError(f"{path}: {len(rest_names)} f_rest properties do not match SH degree 0-3 (0, 9, 24, 45)") from None
    if header.count == 0:
        raise InputError(f"{path}: the PLY holds zero Gaussians")
    rows = _read_rows(raw, header, path)

    def stack(fields: list[str]) -> np.ndarray:
        return np.stack([_column(rows, f) for f in fields], axis=-1) if fields else np.zeros((len(rows), 0), np.float32)

    extra = num_sh_coeffs(degree) - 1
    f_dc = stack(["f_dc_0", "f_dc_1", "f_dc_2"])
    f_rest = stack(rest_names).reshape(len(rows), 3, extra).transpose(0, 2, 1)
    arrays = {
        "means": stack(["x", "y", "z"]),
        "quats": stack(["rot_0", "rot_1", "rot_2", "rot_3"]),
        "log_scales": stack(["scale_0", "scale_1", "scale_2"]),
        "opacity_logits": _column(rows, "opacity"),
        "sh": np.concatenate([f_dc[:, None, :], f_rest], axis=1),
    }
    finite = np.ones(len(rows), dtype=bool)
    for value in arrays.values():
        finite &= np.isfinite(value.reshape(len(rows), -1)).all(axis=1)
    dropped = int((~finite).sum())
    if dropped == len(rows):
        raise InputError(f"{path}: every Gaussian has NaN/inf values; zero Gaussians left")
    if dropped:
        warnings.warn(f"{path}: dropped {dropped} of {len(rows)} Gaussians with NaN/inf values", UserWarning, stacklevel=2)
    return GaussianScene(**{k: torch.from_numpy(np.ascontiguousarray(v[finite])) for k, v in arrays.items()})


def ply_property_names(sh_degree: int) -> list[str]:
    """The exact vertex properties :func:`write_ply` writes for ``sh_degree``, in order."""
    rest = 3 * (num_sh_coeffs(sh_degree) - 1)
    return (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
            + [f"f_rest_{i}" for i in range(rest)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])


def write_ply(scene: GaussianScene, path: "str | os.PathLike") -> None:
    """Write ``scene`` as a binary little-endian float32 3DGS PLY, atomically, with no extra fields."""
    s = scene.map(lambda t: t.detach().to("cpu", torch.float32))
    n, k = s.num_gaussians, s.sh.shape[1]
    f_rest = s.sh[:, 1:].permute(0, 2, 1).reshape(n, 3 * (k - 1))
    columns = torch.cat([s.means, torch.zeros(n, 3), s.sh[:, 0], f_rest, s.opacity_logits[:, None],
                         s.log_scales, s.quats], dim=1).numpy().astype("<f4")
    names = ply_property_names(s.sh_degree)
    header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {n}\n"
    header += "".join(f"property float {name}\n" for name in names) + "end_header\n"
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(header.encode("ascii"))
            f.write(np.ascontiguousarray(columns).tobytes())
