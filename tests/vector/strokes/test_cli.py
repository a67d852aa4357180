"""``stylize paint``: outputs, layers in the SVG, report, timelapse and one-line refusals."""

import json
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from tests.conftest import write_png
from tests.vector.conftest import cairo_rgb, rgb_psnr

SVG = "{http://www.w3.org/2000/svg}"


def test_paint_writes_svg_png_timelapse_and_report(tmp_path, capsys):
    photo = write_png(tmp_path / "photo.png", height=40, width=56)
    out, report = tmp_path / "out" / "painting.svg", tmp_path / "r.json"
    code = main(["paint", str(photo), "-o", str(out), "--size", "56", "--brushes", "6,3", "--timelapse",
                 str(tmp_path / "t.gif"), "--timelapse-seconds", "0.5", "--report", str(report)])
    assert code == 0
    root = ET.parse(out).getroot()
    groups = root.findall(f"{SVG}g")
    assert [g.get("id") for g in groups] == ["brush-6", "brush-3"]
    assert all(g.get("stroke-linecap") == "round" and g.get("stroke-linejoin") == "round" for g in groups)
    paths = root.findall(f".//{SVG}path")
    r = json.loads(report.read_text())
    assert len(paths) == r["sizes"]["strokes"] == sum(r["sizes"]["strokes_per_layer"].values())
    assert {p.get("stroke-width") for p in groups[0]} == {"12"}
    assert r["metrics"]["svg_vs_canvas_psnr_db"] >= 30
    assert r["metrics"]["error_per_layer"]["6"] > r["metrics"]["error_per_layer"]["3"]
    png = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"), dtype=np.float32) / 255
    assert rgb_psnr(png, cairo_rgb(out, 56, 40)) > 50                      # OUT.png is OUT.svg rendered by cairosvg
    assert (tmp_path / "t.gif").stat().st_size > 0 and r["sizes"]["timelapse_frames"] == 12 + 24


def _fake_png(path, width, height):
    """A PNG header claiming ``width`` x ``height`` (the reader refuses it before decoding any pixels)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("args, message", [
    (["--brushes", ""], "--brushes is empty"),
    (["--brushes", "2,8"], "largest first"),
    (["--threshold", "1e9"], "--threshold"),
    (["--max-length", "100000"], "--min-length and --max-length"),
    (["--size", "0"], "--size 0 is out of range"),
    (["--timelapse", "x.avi"], "--timelapse"),
    (["--device", "cuda"], "runs on the CPU"),
])
def test_bad_options_one_line_exit_2_nothing_written(tmp_path, capsys, args, message):
    photo = write_png(tmp_path / "photo.png")
    out = tmp_path / "p.svg"
    assert main(["paint", str(photo), "-o", str(out)] + args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not an image"), "not an image file"),
    (lambda p: _fake_png(p, 20000, 20000), "20000x20000 image is larger than"),
])
def test_bad_images_are_refused(tmp_path, capsys, make, message):
    photo = tmp_path / "photo.png"
    make(photo)
    assert main(["paint", str(photo), "-o", str(tmp_path / "p.svg")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]
