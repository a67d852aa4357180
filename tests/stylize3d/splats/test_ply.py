"""PLY reading/writing: exact round trips, layouts, endianness, ASCII, bad files."""

import numpy as np
import pytest
import torch

from core.errors import InputError
from stylize3d.splats.ply import ply_property_names, read_ply, write_ply


def _header_props(path):
    raw = path.read_bytes()
    head = raw[: raw.find(b"end_header")].decode()
    return [line.split()[2] for line in head.splitlines() if line.startswith("property")]


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_round_trip_is_bit_exact(tmp_path, make_scene, degree):
    scene = make_scene(n=50, degree=degree)
    write_ply(scene, tmp_path / "s.ply")
    back = read_ply(tmp_path / "s.ply")
    for name, t in scene.tensors().items():
        assert torch.equal(getattr(back, name), t), name
    assert _header_props(tmp_path / "s.ply") == ply_property_names(degree)
    # 17 standard floats + 3 * ((d+1)^2 - 1) f_rest, nothing else
    assert len(ply_property_names(degree)) == 17 + 3 * ((degree + 1) ** 2 - 1)


def test_f_rest_is_channel_major(tmp_path, make_scene):
    scene = make_scene(n=3, degree=1)
    scene.sh[:, 1:, 0] = 1.0  # red rest coefficients
    scene.sh[:, 1:, 1] = 2.0
    scene.sh[:, 1:, 2] = 3.0
    write_ply(scene, tmp_path / "s.ply")
    raw = (tmp_path / "s.ply").read_bytes()
    data = np.frombuffer(raw[raw.find(b"end_header\n") + 11:], dtype="<f4").reshape(3, -1)
    names = ply_property_names(1)
    rest = data[:, names.index("f_rest_0"): names.index("f_rest_8") + 1]
    assert rest[0].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def _write_custom(path, names, rows, fmt="binary_little_endian", kind="float"):
    header = f"ply\nformat {fmt} 1.0\ncomment made by a test\nelement vertex {len(rows)}\n"
    header += "".join(f"property {kind} {n}\n" for n in names) + "end_header\n"
    with open(path, "wb") as f:
        f.write(header.encode())
        if fmt == "ascii":
            f.write("\n".join(" ".join(repr(float(v)) for v in r) for r in rows).encode() + b"\n")
        else:
            order = "<" if fmt == "binary_little_endian" else ">"
            f.write(np.asarray(rows, dtype=order + ("f4" if kind == "float" else "f8")).tobytes())


NO_NORMALS = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
              "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
ROW = [1.5, -2.0, 3.25, 0.1, 0.2, 0.3, -1.0, -3.0, -2.5, -2.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("fmt,kind", [("ascii", "float"), ("binary_big_endian", "float"), ("binary_little_endian", "double")])
def test_reads_ascii_big_endian_double_without_normals(tmp_path, fmt, kind):
    _write_custom(tmp_path / "a.ply", NO_NORMALS + ["extra_field"], [ROW + [9.0], ROW + [7.0]], fmt, kind)
    scene = read_ply(tmp_path / "a.ply")
    assert scene.num_gaussians == 2 and scene.sh_degree == 0
    assert scene.means[0].tolist() == [1.5, -2.0, 3.25]
    assert scene.sh[1, 0].tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert scene.opacity_logits.tolist() == [-1.0, -1.0]
    assert scene.log_scales[0].tolist() == [-3.0, -2.5, -2.0]
    assert scene.quats[0].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_non_finite_rows_are_dropped_with_warning(tmp_path):
    bad = list(ROW)
    bad[6] = float("nan")
    worse = list(ROW)
    worse[0] = float("inf")
    _write_custom(tmp_path / "n.ply", NO_NORMALS, [ROW, bad, worse, ROW])
    with pytest.warns(UserWarning, match="dropped 2 of 4"):
        scene = read_ply(tmp_path / "n.ply")
    assert scene.num_gaussians == 2


def test_missing_properties_are_named(tmp_path):
    names = [n for n in NO_NORMALS if n not in ("opacity", "rot_3")]
    _write_custom(tmp_path / "m.ply", names, [[0.0] * len(names)])
    with pytest.raises(InputError, match="lacks Gaussian properties opacity, rot_3"):
        read_ply(tmp_path / "m.ply")


def test_bad_files(tmp_path):
    _write_custom(tmp_path / "z.ply", NO_NORMALS, [])
    with pytest.raises(InputError, match="zero Gaussians"):
        read_ply(tmp_path / "z.ply")
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(InputError, match="not a PLY"):
        read_ply(tmp_path / "t.txt")
    with pytest.raises(InputError, match="does not exist"):
        read_ply(tmp_path / "nope.ply")
    _write_custom(tmp_path / "trunc.ply", NO_NORMALS, [ROW, ROW])
    data = (tmp_path / "trunc.ply").read_bytes()
    (tmp_path / "trunc.ply").write_bytes(data[:-10])
    with pytest.raises(InputError, match="truncated"):
        read_ply(tmp_path / "trunc.ply")
    rest = NO_NORMALS + [f"f_rest_{i}" for i in range(6)]
    _write_custom(tmp_path / "r.ply", rest, [ROW + [0.0] * 6])
    with pytest.raises(InputError, match="SH degree"):
        read_ply(tmp_path / "r.ply")
