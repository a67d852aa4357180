"""``stylize svg-render`` and ``stylize svg`` on documents that use the conformance features."""

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from tests.vector.conformance import doc
from tests.vector.conftest import SCENES, cairo_rgb, rgb_psnr
from vector.svg import MAX_DEPTH, parse_svg

MIXED = doc('<style>.logo { fill: hsl(120, 100%, 25%) } #dot { fill: currentColor }</style>'
            '<svg x="4" y="4" width="24" height="12" viewBox="0 0 10 10"><rect class="logo" width="10" height="10"/></svg>'
            '<g color="#0000ff" font-size="4"><circle id="dot" cx="4em" cy="6em" r="1em"/></g>'
            '<rect x="2" y="2" width="-5" height="3"/>')
MIXED_BY_HAND = doc('<rect x="10" y="4" width="12" height="12" fill="#008000"/><circle cx="16" cy="24" r="4" fill="#0000ff"/>')


def test_svg_render_handles_the_features_and_warns_per_element(tmp_path, capsys):
    src, out = tmp_path / "mixed.svg", tmp_path / "mixed.png"
    src.write_text(MIXED)
    with pytest.warns(UserWarning, match=r"<rect> \(element 6\): negative width '-5': not rendered") as caught:
        assert main(["svg-render", str(src), "-o", str(out), "--size", "64"]) == 0
    assert len(caught) == 1
    ours = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32) / 255.0
    assert rgb_psnr(ours, cairo_rgb(MIXED_BY_HAND, 64, 64)) >= 30.0
    assert "Traceback" not in capsys.readouterr().err


def test_deeply_nested_document_exits_2_with_one_line(tmp_path, capsys):
    src = tmp_path / "deep.svg"
    src.write_text(doc("<g>" * 20_000 + '<rect width="4" height="4"/>' + "</g>" * 20_000))
    assert main(["svg-render", str(src), "-o", str(tmp_path / "o.png"), "--size", "16"]) == 2
    err = capsys.readouterr().err
    assert f"nested deeper than {MAX_DEPTH} levels" in err and err.count("\n") == 1 and not (tmp_path / "o.png").exists()


def test_restyle_of_a_css_document_writes_a_valid_editable_svg(tmp_path):
    src, out = tmp_path / "css.svg", tmp_path / "css_out.svg"
    src.write_text(doc('<style>.a { fill: #cc3300 } .b { fill: #0033cc !important }</style>'
                       '<rect class="a" x="2" y="2" width="14" height="28"/><rect class="b" x="16" y="2" width="14" height="28" fill="red"/>'))
    assert main(["svg", str(src), str(SCENES.parent / "images" / "starry_night.jpg"), "-o", str(out), "--size", "32",
                 "--steps", "2", "--crops", "0", "--optimize", "colors", "--quiet"]) == 0
    before, after = parse_svg(src), parse_svg(out)
    assert [s.element.get("class") for s in after.shapes] == ["a", "b"]
    # what our parser reads back is what the optimiser left, and cairosvg draws the same picture
    ours = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"), dtype=np.float32) / 255.0
    assert rgb_psnr(ours, cairo_rgb(out, 32, 32)) == float("inf")
    assert any(not np.allclose(a.fill.rgb.numpy(), b.fill.rgb.numpy(), atol=1 / 255) for a, b in zip(before.shapes, after.shapes))


@pytest.mark.parametrize("name", ["badge_gradient.svg", "house_group.svg"])
def test_bundled_logos_still_render_through_the_cli(name, tmp_path):
    out = tmp_path / "o.png"
    assert main(["svg-render", str(SCENES / name), "-o", str(out), "--size", "64"]) == 0
    ours = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32) / 255.0
    assert rgb_psnr(ours, cairo_rgb(SCENES / name, 64, 64)) >= 30.0
