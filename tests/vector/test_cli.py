"""``stylize svg`` and ``stylize svg-render`` end to end, and bad input through the CLI."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.io.images import load_image
from tests.vector.conftest import SCENES, cairo_rgb, rgb_psnr
from vector.model import SolidPaint
from vector.svg import parse_svg

STYLE = SCENES.parent / "images" / "starry_night.jpg"


def _ids_and_order(path):
    return [(el.get("id"), el.tag.rsplit("}", 1)[-1]) for el in ET.parse(path).getroot().iter() if isinstance(el.tag, str)]


def test_svg_render_matches_cairosvg_and_writes_a_report(tmp_path):
    out, rep = tmp_path / "badge.png", tmp_path / "r.json"
    assert main(["svg-render", str(SCENES / "badge_gradient.svg"), "-o", str(out), "--size", "96", "--report", str(rep)]) == 0
    ours = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32) / 255.0
    assert ours.shape == (96, 96, 3)
    assert rgb_psnr(ours, cairo_rgb(SCENES / "badge_gradient.svg", 96, 96)) >= 30.0
    report = json.loads(rep.read_text())
    assert report["command"] == "svg-render" and report["outputs"] == [str(out)] and report["sizes"]["shapes"] == 5


def test_restyle_writes_editable_svg_and_its_cairosvg_png(tmp_path):
    out, rep = tmp_path / "palette_starry.svg", tmp_path / "r.json"
    code = main(["svg", str(SCENES / "house_group.svg"), str(STYLE), "-o", str(out), "--size", "48", "--steps", "3",
                 "--crops", "0", "--quiet", "--report", str(rep)])
    assert code == 0
    # same elements, ids and order (shapes whose points moved become <path>)
    before = [i for i, _tag in _ids_and_order(SCENES / "house_group.svg")]
    assert [i for i, _tag in _ids_and_order(out)] == before
    original, result = parse_svg(SCENES / "house_group.svg"), parse_svg(out)
    moved = [not torch.allclose(a.fill.rgb, b.fill.rgb, atol=1 / 255) for a, b in zip(original.shapes, result.shapes)
             if isinstance(a.fill, SolidPaint)]
    assert any(moved)
    png = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"), dtype=np.float32) / 255.0
    assert rgb_psnr(png, cairo_rgb(out, 48, 48)) == float("inf")  # OUT.png is cairosvg's picture of OUT.svg
    report = json.loads(rep.read_text())
    assert len(report["metrics"]["loss_history"]) == 3 and report["timings"]["steps"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["palette_starry.png", "palette_starry.svg", "r.json"]


def test_colours_only_keeps_geometry_byte_for_byte(tmp_path):
    out = tmp_path / "o.svg"
    assert main(["svg", str(SCENES / "palette.svg"), str(STYLE), "-o", str(out), "--size", "32", "--steps", "2",
                 "--crops", "0", "--optimize", "colors", "--palette", "3", "--quiet"]) == 0
    d_before = [el.get("d") for el in ET.parse(SCENES / "palette.svg").getroot().iter() if el.get("d")]
    d_after = [el.get("d") for el in ET.parse(out).getroot().iter() if el.get("d")]
    assert d_after == d_before
    fills = {el.get("fill") for el in ET.parse(out).getroot().iter() if el.get("d")}
    assert len(fills) <= 3  # reduced to a three-colour palette


BAD_SVGS = {
    "malformed": ("<svg xmlns='http://www.w3.org/2000/svg'><rect", "not well-formed XML"),
    "not_svg": ("<html><body/></html>", "not an SVG file"),
    "empty": ("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "no shapes to restyle"),
    "zero_viewbox": ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 0 0'><rect width='1' height='1'/></svg>", "zero or negative size"),
    "nan": ("<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><path d='M0 0 L nan 1 z'/></svg>", "non-finite"),
    "only_text": ("<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'><text>hi</text></svg>", "only unsupported elements: <text>"),
}


@pytest.mark.parametrize("name", sorted(BAD_SVGS))
def test_bad_svg_exits_2_with_one_line_and_writes_nothing(name, tmp_path, capsys):
    text, message = BAD_SVGS[name]
    src = tmp_path / "in.svg"
    src.write_text(text)
    out = tmp_path / "out" / "o.svg"
    with pytest.warns() if name == "only_text" else _nothing():
        code = main(["svg", str(src), str(STYLE), "-o", str(out), "--size", "32", "--steps", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--optimize", "colours"], "--optimize takes"),
        (["--size", "8"], "--size 8 is out of range"),
        (["--prompt", "a fox"], "--prompt and --model go together"),
    ],
)
def test_bad_options_exit_2(extra, message, tmp_path, capsys):
    out = tmp_path / "o.svg"
    code = main(["svg", str(SCENES / "palette.svg"), str(STYLE), "-o", str(out), "--steps", "1", "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and not out.exists()


def test_bad_paths_exit_2(tmp_path, capsys):
    src = tmp_path / "in.svg"
    src.write_text((SCENES / "palette.svg").read_text())
    assert main(["svg", str(src), str(STYLE), "-o", str(src)]) == 2
    assert "also an input" in capsys.readouterr().err
    assert main(["svg", str(src), str(STYLE), "-o", str(tmp_path / "o.png")]) == 2
    assert "must end in .svg" in capsys.readouterr().err
    assert main(["svg", str(src), str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "o.svg"), "--quiet"]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "o.svg").exists()


@pytest.mark.slow
def test_twenty_thousand_paths_render_within_the_bound(tmp_path):
    paths = "".join(f'<path d="M{i % 200 * 2.5} {i // 200 * 5}h2v2h-2z"/>' for i in range(20000))
    src = tmp_path / "many.svg"
    src.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500">{paths}</svg>')
    out = tmp_path / "many.png"
    assert main(["svg-render", str(src), "-o", str(out), "--size", "500"]) == 0
    ours = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32) / 255.0
    assert rgb_psnr(ours, cairo_rgb(src, 500, 500)) >= 30.0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_ctrl_c_keeps_best_result_and_resume_finishes(tmp_path, monkeypatch, capsys):
    import vector.restyle as restyle

    calls = {"n": 0}
    real = restyle.xing_loss

    def interrupting(ctrl):
        calls["n"] += 1
        if calls["n"] == 4:  # 1: initial losses, 2-3: steps 1-2, 4: inside step 3
            raise KeyboardInterrupt
        return real(ctrl)

    out = tmp_path / "o.svg"
    argv = ["svg", str(SCENES / "palette.svg"), str(STYLE), "-o", str(out), "--size", "32", "--steps", "4",
            "--crops", "0", "--quiet", "--optimize", "colors,points", "--report", str(tmp_path / "r.json")]
    monkeypatch.setattr(restyle, "xing_loss", interrupting)
    assert main(argv) == 130
    assert "interrupted; wrote the result so far" in capsys.readouterr().err
    assert out.exists() and out.with_suffix(".png").exists()
    checkpoint = tmp_path / ".o.svg.ckpt"
    assert checkpoint.exists()
    monkeypatch.setattr(restyle, "xing_loss", real)
    assert main(argv + ["--resume"]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["timings"]["steps"] == 2  # steps 3 and 4 only
    assert not checkpoint.exists()


def test_sds_prompt_term_with_a_tiny_local_model(tmp_path):
    pytest.importorskip("diffusers", reason="the SDS term needs diffusers")
    from tests.core.priors.conftest import build_tiny_model

    model = tmp_path / "tiny_sd"
    build_tiny_model(model)
    common = [str(SCENES / "palette.svg"), str(STYLE), "--size", "32", "--steps", "2", "--crops", "0", "--quiet",
              "--optimize", "colors"]
    plain, guided = tmp_path / "plain.svg", tmp_path / "guided.svg"
    assert main(["svg", *common, "-o", str(plain)]) == 0
    assert main(["svg", *common, "-o", str(guided), "--prompt", "a red fox", "--model", str(model),
                 "--sds-weight", "1000", "--sds-resolution", "32", "--report", str(tmp_path / "r.json")]) == 0
    assert guided.read_text() != plain.read_text()  # the diffusion term moved the colours
    assert json.loads((tmp_path / "r.json").read_text())["args"]["prompt"] == "a red fox"


def test_png_falls_back_to_our_rasterizer_where_cairosvg_fails(tmp_path, capsys):
    """cairosvg refuses ``opacity="50%"`` (valid SVG 2 / CSS Color 4); the PNG is still written, by us."""
    import json

    svg = tmp_path / "half.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect x="4" y="4" width="24" '
                   'height="24" fill="#c33" opacity="50%"/></svg>')
    out, report = tmp_path / "o.svg", tmp_path / "r.json"
    code = main(["svg", str(svg), str(STYLE), "-o", str(out), "--steps", "1", "--size", "32", "--quiet",
                 "--report", str(report)])
    assert code == 0 and out.exists() and out.with_suffix(".png").exists()
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["png_renderer"] == "toolkit" and "cairosvg could not render the result" in capsys.readouterr().err
    png = load_image(out.with_suffix(".png"))
    assert png.shape[-2:] == (32, 32) and 0.5 < float(png[0, 0, 16, 16]) < 1.0  # half-transparent red on white
