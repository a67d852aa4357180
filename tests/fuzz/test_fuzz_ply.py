"""Fuzzing the 3DGS PLY reader (binary little/big endian and ASCII), seeded from scenes/splats/sample_scene.ply."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InputError
from stylize3d.splats.ply import MAX_GAUSSIANS, read_ply, write_ply
from stylize3d.splats.scene import GaussianScene
from tests.fuzz.harness import SCENES, check_reader, examples, mutated_bytes, mutated_numbers, write_input

ROWS = 48


@functools.lru_cache(maxsize=None)
def seeds() -> dict:
    """Small PLY files made from the first rows of the bundled scene: LE float (as bundled), LE at SH degree 1
    (our writer), BE double and ASCII, each ``ROWS`` Gaussians."""
    raw = (SCENES / "splats" / "sample_scene.ply").read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end].decode()
    names = [line.split()[2] for line in header.splitlines() if line.startswith("property")]
    rows = np.frombuffer(raw, dtype="<f4", count=ROWS * len(names), offset=end).reshape(ROWS, len(names))
    count_line = next(line for line in header.splitlines() if line.startswith("element vertex"))
    small = header.replace(count_line, f"element vertex {ROWS}")
    out = {"le": small.encode() + rows.tobytes()}
    out["be"] = (small.replace("binary_little_endian", "binary_big_endian").replace("property float ", "property double ")
                 .encode() + rows.astype(">f8").tobytes())
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in rows)
    out["ascii"] = small.replace("binary_little_endian", "ascii").encode() + text.encode() + b"\n"
    scene = read_ply(write_input("seed_le.ply", out["le"]))
    sh = torch.cat([scene.sh, 0.1 * torch.randn(ROWS, 3, 3, generator=torch.Generator().manual_seed(0))], dim=1)
    path = write_input("seed_deg1.ply", b"")
    write_ply(GaussianScene(scene.means, scene.quats, scene.log_scales, scene.opacity_logits, sh), path)
    out["deg1"] = path.read_bytes()
    return out


def _valid(scene: GaussianScene) -> None:
    n = scene.num_gaussians
    assert 0 < n <= MAX_GAUSSIANS
    for name, tensor in scene.tensors().items():
        assert tensor.dtype == torch.float32 and tensor.shape[0] == n, name
        assert torch.isfinite(tensor).all(), f"{name} holds non-finite values"
    assert scene.sh_degree in (0, 1, 2, 3)


def _read(data: bytes):
    return check_reader(read_ply, write_input("fuzz.ply", data), valid=_valid)


def _header_end(data: bytes) -> int:
    return data.index(b"end_header")


KINDS = ["le", "be", "ascii", "deg1"]


@pytest.mark.parametrize("kind", KINDS)
def test_seeds_are_read(kind):
    scene = read_ply(write_input(f"seed_{kind}.ply", seeds()[kind]))
    assert scene.num_gaussians == ROWS


@pytest.mark.parametrize("kind", KINDS)
@examples(8)
@given(data=st.data())
def test_ply_byte_mutations(kind, data):
    _read(data.draw(mutated_bytes(seeds()[kind])))


@pytest.mark.parametrize("kind", KINDS)
@examples(8)
@given(data=st.data())
def test_ply_header_field_edits(kind, data):
    seed = seeds()[kind]
    _read(data.draw(mutated_numbers(seed, region=(0, _header_end(seed)))))


@examples(8)
@given(data=st.data())
def test_ply_ascii_body_edits(data):
    seed = seeds()["ascii"]
    _read(data.draw(mutated_numbers(seed, region=(_header_end(seed), len(seed)))))


@examples(8)
@given(kind=st.sampled_from(KINDS), line=st.sampled_from([
    "element vertex 48", "property float x", "property float opacity", "element face 3", "property list uchar int f",
    "format ascii 1.0", "format binary_big_endian 1.0", "comment x", "property", "element", "property float",
    "end_header", "property int128 q"]), copies=st.integers(1, 3), position=st.integers(1, 30))
def test_ply_duplicated_and_inserted_header_lines(kind, line, copies, position):
    seed = seeds()[kind]
    lines = seed[:_header_end(seed)].split(b"\n")
    position = min(position, len(lines) - 1)
    lines[position:position] = [line.encode()] * copies
    _read(b"\n".join(lines) + seed[_header_end(seed):])


@pytest.mark.parametrize("count,message", [
    ("-5", "negative count"), ("-1", "negative count"), ("4294967296", "more than the limit"),
    ("100000", "truncated"), ("1e3", "no integer count"), ("49", "truncated")])
@pytest.mark.parametrize("kind", KINDS)
def test_ply_declared_vertex_count_is_checked_before_reading(kind, count, message):
    seed = seeds()[kind]
    end = _header_end(seed)
    header = seed[:end].replace(f"element vertex {ROWS}".encode(), f"element vertex {count}".encode())
    if kind == "deg1" and count == "49":
        header = header  # our writer's file: one row short is also refused
    error = _read(header + seed[end:])
    assert isinstance(error, InputError), error
    assert message in str(error)


def test_negative_count_message_names_the_number():
    seed = seeds()["le"]
    with pytest.raises(InputError, match=r"declares a negative count \(-5\)"):
        read_ply(write_input("neg.ply", seed.replace(b"element vertex 48", b"element vertex -5")))
