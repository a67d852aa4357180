"""SVG conformance cases written from the SVG 1.1/2, CSS and Selectors specifications, one table per feature group.

Each :class:`Case` is a small document and its expectation: ``expected=None`` when cairosvg renders it right
(the reference is cairosvg's rendering of the case), otherwise a hand-resolved document that says the same thing
with only features every renderer agrees on (plain numbers, hex colours, no CSS); the reference is then
cairosvg's rendering of that. A case passes when a rendering is within 30 dB PSNR (over white) of its reference.
``benchmarks/svg_conformance.py`` prints the pass rates of our rasterizer and of cairosvg per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def doc(body: str, view_box: str = "0 0 32 32", width: int = 64, height: int = 64, attrs: str = "") -> str:
    return f'<svg {NS} width="{width}" height="{height}" viewBox="{view_box}" {attrs}>{body}</svg>'


@dataclass
class Case:
    name: str
    svg: str
    expected: Optional[str] = None  # hand-resolved equivalent document; None: cairosvg is right
    width: int = 64
    height: int = 64
    why: str = ""  # what the spec says, for hand-resolved cases
    known_limit: bool = False  # a documented miss of ours (README conformance table): the test expects failure

    @property
    def reference(self) -> str:
        return self.svg if self.expected is None else self.expected


def _c(name, body, expected=None, why="", view_box="0 0 32 32", width=64, height=64, attrs="", known_limit=False):
    wrap = dict(view_box=view_box, width=width, height=height, attrs=attrs)
    return Case(name, doc(body, **wrap), None if expected is None else doc(expected, **wrap), width, height, why, known_limit)


DOT = '<rect width="3" height="3"/>'  # a marker that the rest of the document is still drawn

GEOMETRY = [
    _c("em", '<rect x="1em" y="0.5em" width="1.5em" height="1em" font-size="10" fill="red"/>'),
    _c("ex", '<rect x="2ex" y="2ex" width="4ex" height="4ex" style="font-size:8px" fill="red"/>'),
    _c("em_inherited", '<g font-size="4"><rect x="1em" y="1em" width="5em" height="2em" fill="red"/></g>'),
    _c("em_percent_font_size", '<g font-size="8"><g font-size="50%"><rect x="1em" y="1em" width="5em" height="2em" fill="red"/></g></g>',
       '<rect x="4" y="4" width="20" height="8" fill="red"/>', "font-size: 50% of the parent's 8 px = 4 px; em = 4"),
    _c("em_font_keyword", '<rect x="1em" y="1em" width="1em" height="0.5em" font-size="small" fill="red"/>',
       '<rect x="13" y="13" width="13" height="6.5" fill="red"/>', "CSS Fonts 4: small = 13 px"),
    _c("em_from_css", '<style>g { font-size: 5px }</style><g><rect x="2em" y="1em" width="2em" height="4em" fill="red"/></g>',
       '<rect x="10" y="5" width="10" height="20" fill="red"/>', "font-size set by a style sheet"),
    _c("rem", '<g font-size="4"><rect x="1rem" y="0.5rem" width="0.5rem" height="1rem" fill="red"/></g>',
       '<rect x="10" y="5" width="5" height="10" fill="red"/>', "rem = the root element's font size (10)", attrs='font-size="10"'),
    _c("ch_ic", '<rect x="2ch" y="1ic" width="3ch" height="2ic" font-size="8" fill="purple"/>',
       '<rect x="8" y="8" width="12" height="16" fill="purple"/>', "CSS Values 4 fallbacks: ch = 0.5em, ic = 1em"),
    _c("lh", '<rect x="1lh" y="1lh" width="1lh" height="2lh" font-size="8" style="line-height:1.5" fill="purple"/>',
       '<rect x="12" y="12" width="12" height="24" fill="purple"/>', "lh = computed line-height = 1.5 × 8"),
    _c("lh_normal", '<rect x="1lh" y="1lh" width="1lh" height="1lh" font-size="10" fill="purple"/>',
       '<rect x="12" y="12" width="12" height="12" fill="purple"/>', "line-height: normal = 1.2em"),
    _c("cap", '<rect x="1cap" y="1cap" width="2cap" height="2cap" font-size="10" fill="purple"/>',
       '<rect x="7" y="7" width="14" height="14" fill="purple"/>', "cap = 0.7em without font metrics (documented)"),
    _c("absolute_units", '<rect x="1mm" y="0.1in" width="5mm" height="0.2in" fill="purple"/><rect x="20" y="2" width="6pt" height="1pc"/>'),
    _c("percent_rect", '<rect x="10%" y="25%" width="50%" height="25%" fill="blue"/>'),
    _c("percent_circle", '<circle cx="50%" cy="50%" r="25%" fill="blue"/>'),
    _c("percent_ellipse", '<ellipse cx="50%" cy="50%" rx="40%" ry="10%" fill="blue"/>'),
    _c("percent_r_non_square", '<circle cx="50%" cy="50%" r="25%" fill="blue"/>',
       '<circle cx="20" cy="10" r="7.9057" fill="blue"/>', "r% is of sqrt((w²+h²)/2) = sqrt(1000) for 40×20",
       view_box="0 0 40 20", width=64, height=32),
    _c("rx_only", '<rect x="2" y="2" width="28" height="20" rx="6" fill="green"/>'),
    _c("ry_only", '<rect x="2" y="2" width="28" height="20" ry="6" fill="green"/>'),
    _c("rx_clamped", '<rect x="2" y="2" width="28" height="20" rx="30" fill="green"/>',
       '<ellipse cx="16" cy="12" rx="14" ry="10" fill="green"/>', "ry auto = rx = 30, then rx ≤ w/2, ry ≤ h/2"),
    _c("rx_negative_is_auto", '<rect x="2" y="2" width="28" height="20" rx="-3" ry="5" fill="green"/>',
       '<rect x="2" y="2" width="28" height="20" rx="5" ry="5" fill="green"/>', "a negative rx is invalid: auto"),
    _c("rx_invalid_is_auto", '<rect x="2" y="2" width="28" height="20" rx="abc" ry="4" fill="green"/>',
       '<rect x="2" y="2" width="28" height="20" rx="4" ry="4" fill="green"/>', "an unparsable rx is invalid: auto"),
    _c("negative_width_not_rendered", '<rect x="2" y="2" width="-28" height="20" fill="green"/>' + DOT,
       DOT, "negative width: the element is not rendered"),
    _c("zero_height_not_rendered", '<rect x="2" y="2" width="28" height="0" fill="green" stroke="black"/>' + DOT),
    _c("negative_r_not_rendered", '<circle cx="16" cy="16" r="-4" fill="red"/>' + DOT, DOT, "negative r: not rendered"),
    _c("invalid_width_ignored", '<rect x="2" y="2" width="abc" height="20" fill="green"/>' + DOT),
    _c("invalid_x_ignored", '<rect x="foo" y="2" width="10" height="20" fill="green"/>'),
    _c("ellipse_ry_auto", '<ellipse cx="16" cy="16" rx="10" fill="teal"/>',
       '<circle cx="16" cy="16" r="10" fill="teal"/>', "SVG 2: a missing ry takes rx's value"),
    _c("ellipse_negative_not_rendered", '<ellipse cx="16" cy="16" rx="10" ry="-2" fill="teal"/>' + DOT, DOT,
       "a negative ellipse radius is an error: not rendered"),
]

VIEWPORTS = [
    _c("nested", '<svg x="8" y="8" width="16" height="16" viewBox="0 0 10 10"><rect width="10" height="10" fill="green"/></svg>'),
    _c("nested_overflow_clips", '<svg x="8" y="8" width="16" height="16" viewBox="0 0 10 10"><circle cx="5" cy="5" r="8" fill="green"/></svg>'),
    _c("nested_overflow_visible", '<svg x="8" y="8" width="16" height="16" viewBox="0 0 10 10" overflow="visible"><circle cx="5" cy="5" r="8" fill="green"/></svg>'),
    _c("nested_overflow_auto", '<svg x="8" y="8" width="16" height="16" viewBox="0 0 10 10" style="overflow:auto"><circle cx="5" cy="5" r="8" fill="green"/></svg>',
       '<circle cx="16" cy="16" r="12.8" fill="green"/>', "overflow: auto is visible in SVG"),
    _c("nested_no_view_box", '<svg x="4" y="4" width="10" height="10"><circle cx="10" cy="10" r="8" fill="green"/></svg>'),
    _c("nested_percent", '<svg x="25%" y="25%" width="50%" height="50%"><rect width="100%" height="100%" fill="green"/><circle cx="50%" cy="50%" r="25%" fill="blue"/></svg>'),
    _c("nested_deep", '<svg x="4" y="4" width="24" height="24" viewBox="0 0 10 10"><svg x="2" y="2" width="6" height="6" viewBox="0 0 1 1"><rect width="1" height="1" fill="green"/></svg></svg>'),
    _c("nested_under_transform", '<g transform="translate(4 4)"><svg width="10" height="10" viewBox="0 0 20 20"><rect width="20" height="20" fill="green"/></svg></g>'),
    _c("nested_zero_width", '<svg x="4" y="4" width="0" height="10"><rect width="10" height="10" fill="red"/></svg>' + DOT),
    _c("nested_negative_width", '<svg x="4" y="4" width="-5" height="10"><rect width="10" height="10" fill="red"/></svg>' + DOT, DOT,
       "a negative width is an error: not rendered"),
    _c("nested_zero_view_box", '<svg width="10" height="10" viewBox="0 0 0 10"><rect width="10" height="10" fill="red"/></svg>' + DOT, DOT,
       "a zero-size viewBox disables rendering"),
    _c("ten_nested_offsets", "".join('<svg x="1" y="1">' for _ in range(10)) + '<rect width="32" height="32" fill="navy"/>' + "</svg>" * 10,
       '<rect x="10" y="10" width="22" height="22" fill="navy"/>', "each viewport shifts by 1 and clips to its 32×32 box"),
    _c("root_slice", '<rect width="40" height="20" fill="green"/><circle cx="10" cy="10" r="8" fill="blue"/>',
       view_box="0 0 40 20", attrs='preserveAspectRatio="xMinYMid slice"'),
    _c("root_meet_max", '<rect width="40" height="20" fill="green"/>', view_box="0 0 40 20", attrs='preserveAspectRatio="xMaxYMax"'),
    _c("symbol_use", '<defs><symbol id="s" viewBox="0 0 10 10"><circle cx="5" cy="5" r="7" fill="green"/></symbol></defs>'
       '<use href="#s" x="4" y="4" width="12" height="12"/><use xlink:href="#s" x="18" y="18" width="10" height="10"/>'),
]
for _align in ("none", *(f"x{a}Y{b}" for a in ("Min", "Mid", "Max") for b in ("Min", "Mid", "Max"))):
    for _mode in ("meet", "slice") if _align != "none" else ("",):
        VIEWPORTS.append(_c(f"par_{_align}_{_mode or 'none'}",
                            f'<svg x="2" y="8" width="28" height="14" viewBox="0 0 10 10" preserveAspectRatio="{_align} {_mode}">'
                            '<rect width="10" height="10" fill="green"/><circle cx="5" cy="5" r="3" fill="blue"/></svg>'))

_S = lambda css, body: f"<style>{css}</style>{body}"  # noqa: E731
_R = '<rect x="2" y="2" width="28" height="28"'
CSS = [
    _c("type", _S("rect { fill: green }", _R + ' fill="red"/>')),
    _c("class", _S(".a { fill: green } .b{fill:blue}", '<rect class="a" x="2" y="2" width="12" height="28" fill="red"/><rect class="x b" x="16" y="2" width="12" height="28"/>')),
    _c("id_beats_type", _S("#r { fill: green } rect { fill: red }", '<rect id="r" x="2" y="2" width="28" height="28"/>')),
    _c("attribute", _S('[fill="red"] { fill: green } rect[id] {stroke:blue; stroke-width:2}', '<rect x="2" y="2" width="12" height="28" fill="red"/><rect id="q" x="18" y="2" width="10" height="28" fill="black"/>')),
    _c("attribute_operators", _S('[class~="b"]{fill:green} [id^="ab"]{fill:blue} [id$="yz"]{fill:orange} [id*="mm"]{fill:purple} [lang|="en"]{fill:teal}',
                                 '<rect class="a b" width="6" height="30"/><rect id="abc" x="6" width="6" height="30"/><rect id="xyz" x="12" width="6" height="30"/>'
                                 '<rect id="ummm" x="18" width="6" height="30"/><rect lang="en-GB" x="24" width="6" height="30"/>'),
       '<rect width="6" height="30" fill="green"/><rect x="6" width="6" height="30" fill="blue"/><rect x="12" width="6" height="30" fill="orange"/>'
       '<rect x="18" width="6" height="30" fill="purple"/><rect x="24" width="6" height="30" fill="teal"/>', "Selectors 3 §6.3"),
    _c("combinators", _S("g > rect.a { fill: green } g rect { fill: blue } rect.a{fill:red}", '<g><rect class="a" x="2" y="2" width="12" height="28"/></g><rect class="a" x="16" y="2" width="12" height="28"/>')),
    _c("sibling_combinators", _S("circle + rect { fill: green } circle ~ rect { stroke: blue; stroke-width: 2 }",
                                 '<circle cx="4" cy="4" r="3"/><rect x="2" y="10" width="12" height="8" fill="red"/><rect x="18" y="10" width="12" height="8" fill="red"/>'),
       '<circle cx="4" cy="4" r="3"/><rect x="2" y="10" width="12" height="8" fill="green" stroke="blue" stroke-width="2"/><rect x="18" y="10" width="12" height="8" fill="red" stroke="blue" stroke-width="2"/>',
       "+ is the next sibling, ~ any later sibling"),
    _c("not_and_first_child", _S("rect:not(.x) { fill: green } rect:first-child { stroke: black }",
                                 '<g><rect x="2" y="2" width="12" height="12"/><rect class="x" x="18" y="2" width="12" height="12" fill="blue"/></g>'),
       '<rect x="2" y="2" width="12" height="12" fill="green" stroke="black"/><rect x="18" y="2" width="12" height="12" fill="blue"/>', ":not() and :first-child"),
    _c("specificity", _S("#r { fill: green } .a.b { fill: red } .a { fill: blue }", '<rect id="r" class="a b" x="2" y="2" width="28" height="28"/>')),
    _c("source_order", _S(".a { fill: red } .a { fill: green }", '<rect class="a" x="2" y="2" width="28" height="28"/>')),
    _c("important", _S("rect { fill: green !important } #r { fill: red }", '<rect id="r" x="2" y="2" width="28" height="28" style="fill:blue"/>')),
    _c("inline_important_beats_rule", _S("rect { fill: red !important }", _R + ' style="fill: green !important"/>'),
       _R + ' fill="green"/>', "CSS 2.1 §6.4.2: important inline declarations win"),
    _c("inline_beats_rule", _S("#r { fill: red }", '<rect id="r" x="2" y="2" width="28" height="28" style="fill:green"/>')),
    _c("comments", _S("/* rect { fill: red } */ rect { /* c */ fill: green; }", _R + "/>")),
    _c("universal", _S("* { fill: green }", _R + ' fill="red"/>')),
    _c("type_attribute", '<style type="text/css">rect{fill:green}</style><style type="text/foo">rect{fill:red}</style>' + _R + "/>"),
    _c("cdata", _S("<![CDATA[ rect > x, rect { fill: green } ]]>", _R + "/>")),
    _c("at_rules_skipped", _S("@media screen { rect { fill: red } } @import url(x.css); rect { fill: green }", _R + "/>")),
    _c("dynamic_pseudo_never_matches", _S("rect:hover { fill: red } rect { fill: green }", _R + "/>"),
       _R + ' fill="green"/>', "a static rendering is never hovered"),
    _c("inherited_through_group", _S("g { fill: green }", "<g>" + _R + "/></g>")),
    _c("current_color_from_css", _S("rect { color: green }", '<g color="red">' + _R + ' fill="currentColor"/></g>')),
    _c("current_color_own_color", '<g color="red">' + _R + ' fill="currentColor" color="green"/></g>'),
    _c("current_color_inherited_keyword", '<g color="red" fill="currentColor"><g color="green">' + _R + "/></g></g>",
       _R + ' fill="green"/>', "CSS Color 4: currentColor is inherited as a keyword and uses the element's color"),
    _c("non_presentation_ignored", _S("rect { x: 20px; width: 2px } rect { fill: green }", _R + "/>"),
       _R + ' fill="green"/>', "only presentation properties come from CSS (SVG 1.1 geometry is not a property)"),
    _c("non_presentation_in_style_ignored", _R + ' style="x: 20px; fill: green"/>', _R + ' fill="green"/>',
       "style= sets properties only"),
]

_ST = '<stop offset="0" stop-color="blue"/><stop offset="1" stop-color="yellow"/>'
_D = lambda defs, body: f"<defs>{defs}</defs>{body}"  # noqa: E731
_BOX = '<rect x="2" y="2" width="28" height="28" fill="url(#{})"/>'
PAINT_SERVERS = [
    _c("linear_href_radial_stops", _D(f'<radialGradient id="r">{_ST}</radialGradient><linearGradient id="l" xlink:href="#r"/>', _BOX.format("l"))),
    _c("radial_href_linear_attributes", _D(f'<linearGradient id="l" gradientUnits="userSpaceOnUse" spreadMethod="reflect">{_ST}</linearGradient><radialGradient id="r" href="#l" cx="16" cy="16" r="6"/>', _BOX.format("r"))),
    _c("href_chain", _D(f'<linearGradient id="a" x2="0.5">{_ST}</linearGradient><linearGradient id="b" href="#a" x1="0.25"/><linearGradient id="c" href="#b" spreadMethod="repeat"/>', _BOX.format("c")),
       _D(f'<linearGradient id="c" x1="0.25" x2="0.5" spreadMethod="repeat">{_ST}</linearGradient>', _BOX.format("c")), "attributes inherited along the whole chain"),
    _c("href_to_non_gradient_ignored", _D(f'<rect id="x" width="1" height="1"/><linearGradient id="l" xlink:href="#x">{_ST}</linearGradient>', _BOX.format("l"))),
    _c("href_cycle", _D('<linearGradient id="a" xlink:href="#b"/><linearGradient id="b" xlink:href="#a"/>', _BOX.format("a") + DOT)),
    _c("zero_stops_is_none", _D('<linearGradient id="a"/>', '<rect x="2" y="2" width="28" height="28" fill="url(#a)" stroke="black"/>')),
    _c("zero_stops_ignores_fallback", _D('<linearGradient id="a"/>', '<rect x="2" y="2" width="28" height="28" fill="url(#a) red"/>' + DOT),
       DOT, "SVG 1.1 §13.2.4: no stops paints as none (the reference is valid, so no fallback)"),
    _c("one_stop_is_solid", _D('<linearGradient id="a"><stop offset="0.5" stop-color="green"/></linearGradient>', _BOX.format("a"))),
    _c("equal_offsets", _D('<linearGradient id="a"><stop offset="0" stop-color="blue"/><stop offset="0.5" stop-color="blue"/><stop offset="0.5" stop-color="red"/><stop offset="1" stop-color="red"/></linearGradient>', _BOX.format("a"))),
    _c("decreasing_offsets", _D('<linearGradient id="a"><stop offset="0.8" stop-color="blue"/><stop offset="0.2" stop-color="red"/><stop offset="1" stop-color="green"/></linearGradient>', _BOX.format("a"))),
    _c("offset_percent_and_clamp", _D('<linearGradient id="a"><stop offset="-20%" stop-color="blue"/><stop offset="50%" stop-color="red"/><stop offset="140%" stop-color="green"/></linearGradient>', _BOX.format("a")),
       _D('<linearGradient id="a"><stop offset="0" stop-color="blue"/><stop offset="0.5" stop-color="red"/><stop offset="1" stop-color="green"/></linearGradient>', _BOX.format("a")), "offsets clamp to [0, 1]"),
    _c("unparsable_gradient_transform_ignored", _D(f'<linearGradient id="a" gradientTransform="rotate(foo)">{_ST}</linearGradient>', _BOX.format("a") + DOT)),
    _c("singular_gradient_transform_not_rendered", _D(f'<linearGradient id="a" gradientTransform="scale(0)">{_ST}</linearGradient>', _BOX.format("a") + DOT)),
    _c("radial_fr", _D(f'<radialGradient id="a" fr="0.2">{_ST}</radialGradient>', _BOX.format("a")),
       _D('<radialGradient id="a"><stop offset="0.4" stop-color="blue"/><stop offset="1" stop-color="yellow"/></radialGradient>', _BOX.format("a")),
       "focal radius 0.2 of 0.5: t = (d - fr)/(r - fr), i.e. the stops of an fr = 0 gradient at 0.4 and 1"),
    _c("radial_focus_outside_moved_onto_circle", _D(f'<radialGradient id="a" fx="1.2" fy="0.5">{_ST}</radialGradient>', _BOX.format("a")),
       _D(f'<radialGradient id="a" fx="0.9995" fy="0.5">{_ST}</radialGradient>', _BOX.format("a")),
       "SVG 1.1 §13.2.3: a focal point outside the end circle moves onto it"),
    _c("radial_zero_r_last_stop", _D(f'<radialGradient id="a" r="0">{_ST}</radialGradient>', _BOX.format("a")),
       '<rect x="2" y="2" width="28" height="28" fill="yellow"/>', "r = 0 paints the last stop's colour"),
    _c("radial_negative_r_not_rendered", _D(f'<radialGradient id="a" r="-0.5">{_ST}</radialGradient>', _BOX.format("a") + DOT), DOT,
       "a negative r is an error: not rendered"),
    _c("bbox_zero_height_not_rendered", _D(f'<linearGradient id="a">{_ST}</linearGradient>', '<line x1="2" y1="16" x2="30" y2="16" stroke="url(#a)" stroke-width="4"/>')),
    _c("bbox_zero_height_fallback", _D(f'<linearGradient id="a">{_ST}</linearGradient>', '<line x1="2" y1="16" x2="30" y2="16" stroke="url(#a) green" stroke-width="4"/>')),
    _c("stop_current_color", _D('<linearGradient id="a" color="green"><stop offset="0" stop-color="currentColor"/><stop offset="1" stop-color="yellow"/></linearGradient>', '<rect x="2" y="2" width="28" height="28" fill="url(#a)" color="red"/>')),
    _c("stop_inherit", _D('<linearGradient id="a" stop-color="green"><stop offset="0" stop-color="inherit"/><stop offset="1" stop-color="yellow"/></linearGradient>', _BOX.format("a"))),
    _c("stop_color_from_css", _S(".s{stop-color:green}", '<linearGradient id="a"><stop class="s" offset="0"/><stop offset="1" stop-color="yellow"/></linearGradient>' + _BOX.format("a"))),
    _c("stop_opacity_percent", _D('<linearGradient id="a"><stop offset="0" stop-color="blue" stop-opacity="20%"/><stop offset="1" stop-color="red"/></linearGradient>', _BOX.format("a")),
       _D('<linearGradient id="a"><stop offset="0" stop-color="blue" stop-opacity="0.2"/><stop offset="1" stop-color="red"/></linearGradient>', _BOX.format("a")), "CSS Color 4 alpha percentages"),
    _c("user_space_percent", _D(f'<linearGradient id="a" gradientUnits="userSpaceOnUse" x1="25%" x2="75%">{_ST}</linearGradient>', _BOX.format("a"))),
]

_F = lambda attrs: f'<rect x="2" y="2" width="28" height="28" {attrs}/>'  # noqa: E731
COLORS = [
    _c("rgb_percent", _F('fill="rgb(0%, 50%, 100%)"')),
    _c("rgb_float", _F('fill="rgb(10.5, 127.7, 200.2)"')),
    _c("rgb_percent_float", _F('fill="rgb(10.5%, 50.5%, 20%)"')),
    _c("rgb_clamped", _F('fill="rgb(300, -20, 128)"')),
    _c("rgba", _F('fill="rgba(0, 128, 0, 0.5)"')),
    _c("rgb_space_syntax", _F('fill="rgb(0 128 0 / 50%)"'), _F('fill="#008000" fill-opacity="0.5"'), "CSS Color 4 space syntax"),
    _c("hsl", _F('fill="hsl(120, 100%, 25%)"'), _F('fill="#008000"'), "hsl(120, 100%, 25%) = rgb(0, 128, 0)"),
    _c("hsl_clamped", _F('fill="hsl(-120, 150%, 40%)"'), _F('fill="#0000cc"'), "hue 240, saturation clamped to 100%"),
    _c("hsl_lightness_clamped", _F('fill="hsl(480, 150%, -10%)"'), _F('fill="#000000"'), "lightness clamped to 0"),
    _c("hsla", _F('fill="hsla(240, 100%, 50%, 0.3)"'), _F('fill="#0000ff" fill-opacity="0.3"'), "hsla alpha"),
    _c("hex_alpha", _F('fill="#0f08"') + '<circle cx="16" cy="16" r="6" fill="#00ff0080"/>',
       _F('fill="#00ff00" fill-opacity="0.5333"') + '<circle cx="16" cy="16" r="6" fill="#00ff00" fill-opacity="0.502"/>', "#rgba and #rrggbbaa"),
    _c("keyword_case", _F('fill="GREEN"')),
    _c("missing_reference_fallback", _F('fill="url(#missing) red"')),
    _c("missing_reference_no_fallback", _F('fill="url(#missing)" stroke="black"')),
    _c("missing_reference_none", _F('fill="url(#missing) none" stroke="black"')),
    _c("opacity_percent", _F('fill="green" opacity="50%"'), _F('fill="green" opacity="0.5"'), "CSS Color 4 alpha percentages"),
    _c("fill_opacity_percent", _F('fill="green" fill-opacity="30%"'), _F('fill="green" fill-opacity="0.3"'), "percentages"),
    _c("stroke_opacity_percent", _F('fill="none" stroke="green" stroke-width="4" stroke-opacity="40%"'),
       _F('fill="none" stroke="green" stroke-width="4" stroke-opacity="0.4"'), "percentages"),
    _c("inherit_chain", '<g fill="green"><g fill="inherit">' + _F('fill="inherit"') + "</g></g>"),
    _c("inherit_fill_opacity", '<g fill-opacity="0.3">' + _F('fill="green" fill-opacity="inherit"') + "</g>"),
    _c("inherit_non_inherited_opacity", '<g opacity="0.5">' + _F('fill="green" opacity="inherit"') + "</g>"),
    _c("invalid_colour_initial", _F('fill="qwerty"')),
    _c("invalid_colour_inherits", '<g fill="green">' + _F('fill="qwerty"') + "</g>", _F('fill="green"'),
       "an invalid value is ignored: the inherited fill applies"),
    _c("transparent", _F('fill="transparent" stroke="black"')),
]

_P = lambda d, extra='fill="none" stroke="black" stroke-width="2"': f'<path d="{d}" {extra}/>'  # noqa: E731
PATHS = [
    _c("T_after_L", _P("M2 16 L8 16 T20 4 T30 16")),
    _c("S_after_L", _P("M2 16 L8 16 S20 4 30 16")),
    _c("S_after_Q", _P("M2 16 Q8 2 14 16 S20 30 30 16")),
    _c("T_after_C", _P("M2 16 C4 2 10 2 14 16 T30 16")),
    _c("arc_flags_without_separators", _P("M6 16 a10 10 0 00 20 0 a10 10 0 1120 0", 'fill="green"')),
    _c("arc_flags_compact", _P("M6 16a10 10 0 1 0 20 0", 'fill="green"')),
    _c("arc_radii_scaled_up", _P("M4 16 A2 2 0 0 1 28 16", 'fill="green"')),
    _c("number_syntax", _P("M2-2.5.5 8L28,2 28 28-1e1 30zM10 10l2.5.5", 'fill="green" stroke="black"')),
    _c("zero_length_round_cap", _P("M16 16 L16 16", 'stroke="black" stroke-width="8" stroke-linecap="round"')),
    _c("zero_length_square_cap", _P("M16 16 z", 'stroke="black" stroke-width="8" stroke-linecap="square"'),
       '<rect x="12" y="12" width="8" height="8"/>', "SVG 2 §13.5.6: a zero-length subpath with square caps draws a square"),
    _c("zero_length_square_cap_rotated", _P("M16 16 z", 'stroke="black" stroke-width="8" stroke-linecap="square" transform="rotate(45 16 16)"'),
       '<rect x="12" y="12" width="8" height="8" transform="rotate(45 16 16)"/>',
       "the square follows the user-space x axis"),
    _c("dasharray", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="4 2"')),
    _c("dasharray_odd_count_repeats", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="4 2 1"')),
    _c("dashoffset", _P("M2 10 L30 10", 'stroke="black" stroke-width="3" stroke-dasharray="4,2" stroke-dashoffset="3"')
       + _P("M2 20 L30 20", 'stroke="black" stroke-width="3" stroke-dasharray="4,2" stroke-dashoffset="-3"')),
    _c("dasharray_zero_length_dots", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="0 5" stroke-linecap="round"')),
    _c("dasharray_on_curve_round_joins", _P("M4 28 C 4 4, 28 4, 28 28", 'stroke="blue" stroke-width="2" stroke-dasharray="3 2" stroke-linejoin="round"')),
    _c("dasharray_on_circle_square_caps", '<circle cx="16" cy="16" r="10" fill="yellow" stroke="red" stroke-width="2" stroke-dasharray="5 3" stroke-linecap="square"/>'),
    _c("dasharray_percent", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="10%"')),
    _c("dasharray_all_zero_is_solid", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="0 0"')),
    _c("dasharray_negative_ignored", _P("M2 16 L30 16", 'stroke="black" stroke-width="3" stroke-dasharray="4 -2"'),
       _P("M2 16 L30 16", 'stroke="black" stroke-width="3"'), "a negative dash length is invalid: the initial none applies"),
    _c("dasharray_under_transform", '<g transform="rotate(30 16 16) scale(0.5)"><path d="M4 32 L60 32" stroke="black" stroke-width="6" stroke-dasharray="8 4"/></g>'),
    _c("zero_length_square_cap_skewed", _P("M16 16 z", 'stroke="black" stroke-width="10" stroke-linecap="square" transform="translate(16 16) skewX(40) translate(-16 -16)"'),
       '<rect x="11" y="11" width="10" height="10" transform="translate(16 16) skewX(40) translate(-16 -16)"/>',
       "under skew the user-space square is a parallelogram; ours stays a square", known_limit=True),
    _c("zero_length_butt_cap", _P("M16 16 L16 16", 'stroke="black" stroke-width="8"')),
    _c("moveto_only_draws_nothing", _P("M10 10 M20 20", 'stroke="black" stroke-width="8" stroke-linecap="round"')),
    _c("percent_stroke_width", _P("M2 16 L30 16", 'stroke="black" stroke-width="10%"')),
    _c("em_stroke_width", '<path d="M2 16 L30 16" stroke="black" stroke-width="0.5em" font-size="8"/>'),
    _c("negative_stroke_width_ignored", _P("M2 16 L30 16", 'stroke="black" stroke-width="-3"'),
       _P("M2 16 L30 16", 'stroke="black" stroke-width="1"'), "an invalid stroke-width is ignored: the initial 1 applies"),
    _c("line_transform", '<line x1="4" y1="16" x2="28" y2="16" stroke="blue" stroke-width="3" transform="rotate(45 16 16)"/>'),
    _c("path_error_drawn_up_to_it", _P("M4 4 L28 4 L28 28 X 4 28", 'fill="green"'), _P("M4 4 L28 4 L28 28", 'fill="green"'),
       "SVG 1.1 F.2: render up to the first error"),
    _c("path_without_moveto_empty", _P("L28 4 L28 28", 'fill="green"') + DOT, DOT, "path data must begin with a moveto"),
    _c("polyline_odd_coordinates", '<polyline points="4 4 28 4 28 28 5" fill="green"/>'),
    _c("invalid_transform_ignored", '<rect x="4" y="4" width="10" height="10" transform="rotate(30" fill="green"/>',
       '<rect x="4" y="4" width="10" height="10" fill="green"/>', "a malformed transform list is ignored"),
]

GROUPS = {
    "geometry": GEOMETRY,
    "viewports": VIEWPORTS,
    "css": CSS,
    "paint servers": PAINT_SERVERS,
    "colours": COLORS,
    "paths": PATHS,
}


def ours_rgb(svg: str, width: int, height: int):
    """Our rendering on white, (H, W, 3) float in [0, 1] (warnings about invalid values silenced)."""
    import warnings

    from vector.raster import render
    from vector.svg import parse_svg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scene = parse_svg(svg)
    return render(scene, width, height, background=(1.0, 1.0, 1.0))[0, :3].permute(1, 2, 0).numpy()


def check(case: Case, threshold: float = 30.0) -> None:
    """Assert that our rendering of ``case`` is within ``threshold`` dB of its reference (below it for a
    known limit, so that lifting the limit shows up and the README table gets updated)."""
    from tests.vector.conftest import cairo_rgb, rgb_psnr

    got = rgb_psnr(ours_rgb(case.svg, case.width, case.height), cairo_rgb(case.reference, case.width, case.height))
    if case.known_limit:
        assert got < threshold, f"{case.name} now passes ({got:.1f} dB): drop known_limit and update the README"
    else:
        assert got >= threshold, f"{case.name}: {got:.1f} dB ({case.why or 'cairosvg reference'})"
