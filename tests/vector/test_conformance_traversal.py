"""Document traversal: deep nesting, use instances (cycles, exponential chains), display/visibility, and the
documents that are refused (exit 2 in the CLI) against those drawn with warnings."""

import warnings

import pytest
import torch

from core.errors import InputError
from tests.vector.conformance import doc
from vector.raster import render
from vector.svg import MAX_DEPTH, parse_svg
from vector.writer import svg_text


def _nested(depth: int) -> str:
    return doc("<g>" * depth + '<rect width="16" height="16" fill="#ff0000"/>' + "</g>" * depth)


def test_tens_of_thousands_of_nested_groups_are_refused_in_one_line():
    with pytest.raises(InputError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_svg(_nested(30_000))


def test_nesting_up_to_the_limit_renders_and_writes():
    scene = parse_svg(_nested(MAX_DEPTH - 2))
    assert len(scene.shapes) == 1
    assert torch.allclose(render(scene, 8, 8)[0, :, 1, 1], torch.tensor([1.0, 0.0, 0.0, 1.0]))
    scene.shapes[0].fill.rgb.data[:] = torch.tensor([0.0, 0.0, 1.0])
    assert parse_svg(svg_text(scene)).shapes[0].fill.rgb.tolist() == [0.0, 0.0, 1.0]


def test_use_cycles_are_not_rendered_and_the_rest_is():
    text = doc('<g id="a"><rect width="4" height="4"/><use href="#b"/></g><g id="b"><use href="#a" x="5"/></g>'
               '<use id="self" href="#self"/><circle cx="20" cy="20" r="3"/>')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = parse_svg(text)
    assert "circular reference" in " ".join(str(w.message) for w in caught)
    tags = [s.element.tag.rsplit("}", 1)[-1] for s in scene.shapes]
    assert tags.count("circle") == 1 and tags.count("rect") >= 1


def test_exponential_use_chains_are_refused(monkeypatch):
    monkeypatch.setattr("vector.svg.MAX_INSTANCES", 1000)  # the same check as at 20,000, in a fraction of the time
    body = '<rect id="l0" width="1" height="1"/>' + "".join(
        f'<g id="l{i}"><use href="#l{i - 1}"/><use href="#l{i - 1}"/></g>' for i in range(1, 20))
    with pytest.raises(InputError, match="more than 1000 elements drawn through <use>"):
        parse_svg(doc(f"<defs>{body}</defs><use href='#l19'/>"))


def test_degenerate_and_far_away_shapes_are_not_drawn():
    scene = parse_svg(doc('<rect id="flat" width="4" height="4" transform="scale(0 1)"/>'
                          '<rect id="far" x="1e30" width="4" height="4"/><rect id="ok" width="4" height="4"/>'), warn=False)
    assert [s.element.get("id") for s in scene.shapes] == ["ok"] and scene.skipped == ["<rect> far outside the document"]


def test_display_none_and_visibility():
    scene = parse_svg(doc('<g display="none"><rect id="a" width="4" height="4"/></g>'
                          '<g visibility="hidden"><rect id="b" width="4" height="4"/><rect id="c" visibility="visible" width="4" height="4"/></g>'
                          '<switch><rect id="d" width="4" height="4"/><rect id="e" width="4" height="4"/></switch>'))
    assert [s.element.get("id") for s in scene.shapes] == ["c", "d"]


def test_switch_draws_the_first_child_whose_conditions_pass():
    # Illustrator's pattern: a foreignObject for its own extension, then the real drawing
    scene = parse_svg(doc('<switch><foreignObject requiredExtensions="http://ns.adobe.com/AdobeIllustrator/10.0/"/>'
                          '<g systemLanguage="fr"><rect id="fr" width="4" height="4"/></g>'
                          '<g systemLanguage="de, en-US"><rect id="en" width="4" height="4"/></g><rect id="later" width="2" height="2"/></switch>'
                          '<rect id="ext" requiredExtensions="x" width="3" height="3"/>'))
    assert [s.element.get("id") for s in scene.shapes] == ["en"]


def test_root_opacity_and_elements_drawn_twice():
    scene = parse_svg(doc('<circle id="c" cx="4" cy="4" r="2"/><use href="#c" x="8"/><rect width="2" height="2"/>', attrs='opacity="0.5"'))
    assert [s.frozen for s in scene.shapes] == [True, True, False]  # the circle is drawn itself and through use
    assert all(s.groups and s.groups[0][1] == 0.5 for s in scene.shapes)
    assert float(render(scene, 64, 64)[0, 3, 2, 2]) == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize("text, message", [
    (doc("", view_box="0 0 0 0"), "zero or negative size"),
    ("<svg xmlns='http://www.w3.org/2000/svg' width='0' height='10'/>", "zero or negative size"),
    ("<svg xmlns='http://www.w3.org/2000/svg' width='-3mm' height='10'/>", "negative width"),
])
def test_documents_without_a_renderable_size_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        parse_svg(text)


def test_root_size_from_units_and_view_box():
    assert (lambda s: (s.width, s.height))(parse_svg("<svg xmlns='http://www.w3.org/2000/svg' width='1in' height='2em' font-size='10'/>")) == (96.0, 20.0)
    assert (lambda s: (s.width, s.height))(parse_svg("<svg xmlns='http://www.w3.org/2000/svg' width='30' viewBox='0 0 20 10'/>")) == (30.0, 15.0)
    with pytest.warns(UserWarning, match="invalid viewBox"):
        scene = parse_svg("<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8' viewBox='a b c d'><rect width='4' height='4'/></svg>")
    assert torch.allclose(scene.shapes[0].transform, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]))
