"""Size limits checked on an SVG's XML tree before anything expensive parses it.

``<use>`` copies whatever it references, so ten nested groups of ten ``use`` each describe 10^10 shapes in a
few hundred bytes (a "use bomb"); svgelements would expand them all. :func:`check_expansion` counts the
elements a document expands to, following ``use`` references, without expanding anything.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from core.errors import InputError

MAX_ELEMENTS = 50_000
"""Documents that expand (``use`` copies included) to more elements than this are refused. Parsing costs
about 2 ms per shape on one CPU core, so this bounds parsing to a couple of minutes; raise it here for larger
drawings when that time is acceptable (memory grows by a few kB per shape)."""

MAX_REACH = 1e6
"""Shapes whose transformed coordinates lie more than this many document sizes from the origin are skipped
(listed in ``scene.skipped``): rendered at any size their float32 pixel coordinates would overflow."""

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def _reference(element: ET.Element, by_id: dict) -> "ET.Element | None":
    if not isinstance(element.tag, str) or element.tag.rsplit("}", 1)[-1] != "use":
        return None
    ref = element.get("href") or element.get(XLINK_HREF) or ""
    return by_id.get(ref[1:]) if ref.startswith("#") else None


def check_expansion(root: ET.Element, name: str, limit: int = MAX_ELEMENTS) -> int:
    """The number of elements ``root`` expands to, ``use`` references followed; :class:`InputError` when it
    exceeds ``limit`` or a ``use`` (indirectly) references itself. Iterative: any nesting depth is fine."""
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    size: dict = {}
    on_path: set = set()
    stack = [(root, False)]
    while stack:
        element, children_done = stack.pop()
        key = id(element)
        if children_done:
            on_path.discard(key)
            target = _reference(element, by_id)
            total = 1 + sum(size[id(c)] for c in element) + (size[id(target)] if target is not None else 0)
            if total > limit:
                raise InputError(f"{name}: the document expands to more than {limit:,} elements (with <use> copies); "
                                 f"refused (vector.limits.MAX_ELEMENTS)")
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise InputError(f"{name}: a <use> element references itself (directly or through its ancestors)")
        on_path.add(key)
        stack.append((element, True))
        target = _reference(element, by_id)
        for child in [*element, *([target] if target is not None else [])]:
            if id(child) in on_path:
                raise InputError(f"{name}: a <use> element references itself (directly or through its ancestors)")
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]
