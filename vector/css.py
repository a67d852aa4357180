"""CSS for SVG documents: ``<style>`` sheets, selectors, specificity and the cascade (our own, not svgelements').

svgelements matches only ``*``, ``tag``, ``#id``, ``.class`` and ``tag.class`` and ignores specificity,
``!important``, ``<style type>``, comments inside rules and at-rules, so the parser computes the cascade
here *before* svgelements sees the document (CSS 2.1 §6.4, Selectors Level 3):

- selectors: ``*``, type, ``#id``, ``.class``, ``[attr]``, ``[attr=v]``, ``~=``, ``|=``, ``^=``, ``$=``, ``*=``,
  ``:first-child``, ``:last-child``, ``:only-child``, ``:root``, ``:not(compound)``, ``:link``; dynamic states
  (``:hover``, ``:focus``...) and pseudo-elements never match a static rendering; combined with descendant,
  ``>``, ``+`` and ``~`` combinators, in comma lists. A selector outside this subset is dropped (the others of
  its comma list still apply) and named in a warning;
- order: presentation attributes < sheet rules (by specificity, then source order) < ``style="..."``
  < ``!important`` rules < ``!important`` in ``style``;
- only presentation properties (:data:`PRESENTATION`) are taken from CSS: geometry such as ``x`` or ``d`` in
  a rule is ignored (SVG 1.1 semantics; SVG 2 geometry properties are not supported);
- ``@media``/``@import``/other at-rules are skipped with their blocks; ``<style type>`` other than
  ``text/css`` is ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

#: Properties that CSS (sheets and ``style``) may set on SVG elements (SVG 1.1 property index, plus
#: ``paint-order``, ``line-height`` for the ``lh`` unit and ``transform-origin``-free SVG 2 painting keys).
PRESENTATION = frozenset(
    """alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
    color-interpolation-filters color-profile color-rendering cursor direction display dominant-baseline
    enable-background fill fill-opacity fill-rule filter flood-color flood-opacity font font-family font-size
    font-size-adjust font-stretch font-style font-variant font-weight glyph-orientation-horizontal
    glyph-orientation-vertical image-rendering kerning letter-spacing lighting-color line-height marker
    marker-end marker-mid marker-start mask mix-blend-mode isolation opacity overflow paint-order
    pointer-events shape-rendering stop-color stop-opacity stroke stroke-dasharray stroke-dashoffset
    stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity stroke-width text-anchor text-decoration
    text-rendering unicode-bidi visibility word-spacing writing-mode""".split()
)

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_IDENT = r"-?[_a-zA-Z\u00a0-\uffff][_a-zA-Z0-9\u00a0-\uffff-]*"
_SIMPLE = re.compile(
    rf"""\s*(?:
      (?P<type>{_IDENT}|\*)
    | \#(?P<id>[_a-zA-Z0-9\u00a0-\uffff-]+)
    | \.(?P<cls>{_IDENT})
    | \[\s*(?P<attr>{_IDENT}(?::{_IDENT})?)\s*(?:(?P<op>[~|^$*]?=)\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\]\s]+))\s*)?\]
    | :(?P<pseudo>first-child|last-child|only-child|root|hover|active|focus|focus-within|focus-visible|visited|link|any-link|target)
    | ::?(?P<element>before|after|first-line|first-letter|marker|selection)
    | :not\(\s*(?P<not>[^()]+?)\s*\)
    )""",
    re.X,
)


class SelectorError(ValueError):
    """A selector outside the supported subset (the whole rule is dropped)."""


@dataclass
class Compound:
    """One compound selector: tag ('' = any) and a list of (kind, name, op, value) conditions."""

    tag: str
    conditions: list


@dataclass
class Selector:
    """Compounds right to left, with the combinator that joins each to the next one on its left."""

    parts: list  # [(Compound, combinator)], the rightmost first; combinator of the last is None
    specificity: tuple


@dataclass
class Rule:
    selector: Selector
    order: int
    declarations: list  # [(name, value, important)]


def _parse_compound(text: str) -> tuple:
    """A compound selector -> (Compound, (ids, classes+attrs+pseudo, types))."""
    pos, tag, conds, spec = 0, "", [], [0, 0, 0]
    text = text.strip()
    if not text:
        raise SelectorError("empty compound")
    while pos < len(text):
        m = _SIMPLE.match(text, pos)
        if not m or m.end() == pos:
            raise SelectorError(text)
        if m.group("type"):
            if pos != 0:
                raise SelectorError(text)
            tag = "" if m.group("type") == "*" else m.group("type")
            spec[2] += 1 if tag else 0
        elif m.group("id"):
            conds.append(("id", m.group("id"), None, None))
            spec[0] += 1
        elif m.group("cls"):
            conds.append(("class", m.group("cls"), None, None))
            spec[1] += 1
        elif m.group("attr"):
            value = next((m.group(g) for g in ("dq", "sq", "bare") if m.group(g) is not None), None)
            conds.append(("attr", m.group("attr"), m.group("op"), value))
            spec[1] += 1
        elif m.group("pseudo"):
            conds.append(("pseudo", m.group("pseudo"), None, None))
            spec[1] += 1
        elif m.group("element"):
            conds.append(("pseudo", "never", None, None))  # pseudo-elements style no SVG shape
            spec[2] += 1
        else:
            inner, inner_spec = _parse_compound(m.group("not"))
            conds.append(("not", inner, None, None))
            spec = [a + b for a, b in zip(spec, inner_spec)]
        pos = m.end()
    return Compound(tag, conds), tuple(spec)


def _split_combinators(text: str) -> list:
    """Compound selectors and combinators (``>``, ``+``, ``~``; whitespace is dropped), outside brackets,
    parentheses and quotes."""
    tokens, current, depth, quote = [], "", 0, None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif depth == 0 and (ch.isspace() or ch in ">+~"):
            tokens.append(current)
            current = ""
            if ch in ">+~":
                tokens.append(ch)
            continue
        current += ch
    tokens.append(current)
    return tokens


def parse_selector(text: str) -> Selector:
    """One selector (no commas) -> :class:`Selector`; raises :class:`SelectorError` outside the subset."""
    tokens = _split_combinators(text.strip())
    compounds, combinators, pending = [], [], " "
    for tok in tokens:
        if tok is None or tok == "":
            continue
        if tok in (">", "+", "~"):
            if not compounds or pending != " ":
                raise SelectorError(text)
            pending = tok
            continue
        if compounds:
            combinators.append(pending)
        compounds.append(_parse_compound(tok))
        pending = " "
    if not compounds or pending != " ":
        raise SelectorError(text)
    spec = tuple(sum(c[1][k] for c in compounds) for k in range(3))
    n = len(compounds)
    # rightmost first; each part keeps the combinator joining it to the compound on its left
    joined = [(compounds[n - 1 - i][0], combinators[n - 2 - i] if n - 2 - i >= 0 else None) for i in range(n)]
    return Selector(joined, spec)


def _declarations(block: str) -> list:
    out = []
    for item in block.split(";"):
        if ":" not in item:
            continue
        name, value = item.split(":", 1)
        name, value = name.strip().lower(), value.strip()
        important = False
        m = re.search(r"!\s*important\s*$", value, re.I)
        if m:
            important, value = True, value[: m.start()].strip()
        if name and value:
            out.append((name, value, important))
    return out


def parse_declarations(text: str) -> list:
    """A ``style`` attribute -> [(name, value, important)] (comments removed)."""
    return _declarations(_COMMENT.sub("", text or ""))


def parse_stylesheet(text: str, start_order: int = 0) -> tuple:
    """CSS text -> (rules, dropped selector texts). At-rules are skipped with their blocks."""
    text = _COMMENT.sub("", text).replace("<!--", " ").replace("-->", " ")
    rules, dropped, order, pos = [], [], start_order, 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        if text[pos] == "@":
            semi, brace = text.find(";", pos), text.find("{", pos)
            if brace == -1 or (semi != -1 and semi < brace):
                pos = len(text) if semi == -1 else semi + 1
                continue
            depth, pos = 0, brace
            while pos < len(text):
                depth += {"{": 1, "}": -1}.get(text[pos], 0)
                pos += 1
                if depth == 0:
                    break
            continue
        brace = text.find("{", pos)
        if brace == -1:
            break
        close = text.find("}", brace)
        close = len(text) if close == -1 else close
        prelude, block = text[pos:brace].strip(), text[brace + 1 : close]
        pos = close + 1
        decls = _declarations(block)
        for sel_text in prelude.split(","):
            try:
                selector = parse_selector(sel_text)
            except SelectorError:
                dropped.append(sel_text.strip())
                continue
            rules.append(Rule(selector, order, decls))
            order += 1
    return rules, dropped


class Matcher:
    """Selector matching over an ElementTree, with parent and sibling maps built once."""

    def __init__(self, root: ET.Element, parents: dict, local_name):
        self.root = root
        self.parents = parents
        self.local_name = local_name
        self.siblings: dict = {}
        for parent in [root, *parents.values()]:
            if id(parent) in self.siblings:
                continue
            kids = [c for c in parent if isinstance(c.tag, str)]
            self.siblings[id(parent)] = kids

    def _kids(self, element):
        parent = self.parents.get(element)
        return self.siblings.get(id(parent), [element]) if parent is not None else [element]

    def _attr(self, element, name):
        if ":" in name:  # xlink:href and friends
            prefix, local = name.split(":", 1)
            if prefix == "xlink":
                return element.get("{http://www.w3.org/1999/xlink}" + local)
            return None
        return element.get(name)

    def compound(self, c: Compound, el) -> bool:
        if c.tag and self.local_name(el.tag) != c.tag:
            return False
        for kind, name, op, value in c.conditions:
            if kind == "id":
                ok = el.get("id") == name
            elif kind == "class":
                ok = name in (el.get("class") or "").split()
            elif kind == "attr":
                have = self._attr(el, name)
                ok = have is not None and (
                    op is None
                    or (op == "=" and have == value)
                    or (op == "~=" and value in have.split())
                    or (op == "|=" and (have == value or have.startswith(value + "-")))
                    or (op == "^=" and bool(value) and have.startswith(value))
                    or (op == "$=" and bool(value) and have.endswith(value))
                    or (op == "*=" and bool(value) and value in have)
                )
            elif kind == "pseudo":
                kids = self._kids(el)
                is_link = self.local_name(el.tag) == "a" and (el.get("href") or self._attr(el, "xlink:href")) is not None
                ok = {
                    "first-child": kids[0] is el,
                    "last-child": kids[-1] is el,
                    "only-child": len(kids) == 1,
                    "root": el is self.root,
                    # links count as unvisited (:link matches <a href>); dynamic states never hold
                    "link": is_link,
                    "any-link": is_link,
                }.get(name, False)
            else:
                ok = not self.compound(name, el)
            if not ok:
                return False
        return True

    def matches(self, selector: Selector, el) -> bool:
        return self._match_from(selector.parts, 0, el)

    def _match_from(self, parts, i, el) -> bool:
        compound, combinator = parts[i]
        if not self.compound(compound, el):
            return False
        if i + 1 == len(parts):
            return True
        if combinator == ">":
            parent = self.parents.get(el)
            return parent is not None and self._match_from(parts, i + 1, parent)
        if combinator == " ":
            parent = self.parents.get(el)
            while parent is not None:
                if self._match_from(parts, i + 1, parent):
                    return True
                parent = self.parents.get(parent)
            return False
        kids = self._kids(el)
        k = next(n for n, kid in enumerate(kids) if kid is el)
        if combinator == "+":
            return k > 0 and self._match_from(parts, i + 1, kids[k - 1])
        return any(self._match_from(parts, i + 1, kids[j]) for j in range(k))


def style_sheets(root: ET.Element, local_name) -> tuple:
    """All rules of the document's ``<style>`` elements in document order, and the dropped selectors."""
    rules, dropped = [], []
    for el in root.iter():
        if local_name(el.tag) != "style":
            continue
        kind = (el.get("type") or "text/css").strip().lower()
        if kind not in ("", "text/css"):
            continue
        text = "".join(el.itertext())
        got, bad = parse_stylesheet(text, len(rules))
        rules += got
        dropped += bad
    return rules, dropped


def cascade(root: ET.Element, elements: list, parents: dict, local_name) -> tuple:
    """Specified presentation properties of every element (before inheritance).

    Returns ({id(element): {property: value}}, {id(element): set of properties set by !important}, dropped
    selectors). Attributes that are not presentation properties are not included.
    """
    rules, dropped = style_sheets(root, local_name)
    matcher = Matcher(root, parents, local_name)
    rules.sort(key=lambda r: (r.selector.specificity, r.order))
    specified, important_of = {}, {}
    for el in elements:
        if not isinstance(el.tag, str):
            continue
        props = {k: v.strip() for k, v in el.attrib.items() if k in PRESENTATION}
        important: dict = {}
        for rule in rules:
            if matcher.matches(rule.selector, el):
                for name, value, imp in rule.declarations:
                    if name not in PRESENTATION:
                        continue
                    if imp:
                        important[name] = value
                    else:
                        props[name] = value
        inline_important = {}
        for name, value, imp in parse_declarations(el.get("style", "")):
            if name not in PRESENTATION:
                continue
            if imp:
                inline_important[name] = value
            elif name not in important:
                props[name] = value
        props.update(important)
        props.update(inline_important)
        specified[id(el)] = props
        if important:
            important_of[id(el)] = set(important) - set(inline_important)
    return specified, important_of, dropped
