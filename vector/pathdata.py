"""Outlines as cubic Béziers: SVG path data (our parser), basic shapes, arcs and transform lists.

svgelements reflects the control point of ``T``/``S`` after commands of the other family (SVG 1.1 §8.3.6/8.3.7
say: reflect only after ``Q``/``T`` resp. ``C``/``S``, else use the current point), renders nothing or
everything for path data with an error (the spec: render up to the error), and accepts malformed transform
lists, so geometry is read here instead (svgelements is no longer used for it).

Every outline is a list of points and subpaths in the layout of :class:`vector.model.Shape`: subpath ``i`` owns
``3 n_i + 1`` points, ``(first_point, n_segments, closed)``. A zero-length subpath (``M x y Z`` or
``M x y L x y``) is kept as one degenerate segment, so round and square caps can draw a dot there.
"""

from __future__ import annotations

import math
import re

KAPPA = 4.0 / 3.0 * math.tan(math.pi / 8.0)  # quarter-circle cubic handle length
_ARGS = {"M": 2, "L": 2, "T": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "A": 7, "Z": 0}
_NUM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SEP = re.compile(r"[\s,]*")


class Outline:
    """Builds cubic control points and subpaths; all coordinates are (x, y) tuples in user units."""

    def __init__(self):
        self.points: list = []
        self.subpaths: list = []
        self._first = None
        self._n = 0
        self._start = None
        self.current = None

    def move(self, p):
        self._finish(False)
        self._start = self.current = p

    def cubic(self, c1, c2, p):
        if self._n == 0:
            self._first = len(self.points)
            self.points.append(self.current)
        self.points.extend([c1, c2, p])
        self._n += 1
        self.current = p

    def line(self, p):
        p0 = self.current
        dx, dy = p[0] - p0[0], p[1] - p0[1]
        self.cubic((p0[0] + dx / 3, p0[1] + dy / 3), (p0[0] + 2 * dx / 3, p0[1] + 2 * dy / 3), p)

    def quad(self, c, p):
        p0 = self.current
        self.cubic(tuple(a + 2 / 3 * (b - a) for a, b in zip(p0, c)), tuple(a + 2 / 3 * (b - a) for a, b in zip(p, c)), p)

    def arc(self, rx, ry, rotation, large, sweep, p):
        """Elliptical arc to ``p`` (SVG 1.1 F.6.5 endpoint to centre conversion, F.6.6 radii correction)."""
        p0 = self.current
        if p0 == p:
            return
        rx, ry = abs(rx), abs(ry)
        if rx * rx == 0 or ry * ry == 0:  # zero radii, or radii so small that their squares underflow
            self.line(p)
            return
        phi = math.radians(rotation % 360.0)
        cos, sin = math.cos(phi), math.sin(phi)
        dx2, dy2 = (p0[0] - p[0]) / 2, (p0[1] - p[1]) / 2
        x1, y1 = cos * dx2 + sin * dy2, -sin * dx2 + cos * dy2
        lam = x1 * x1 / (rx * rx) + y1 * y1 / (ry * ry)
        if lam > 1:
            rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
        num = rx * rx * ry * ry - rx * rx * y1 * y1 - ry * ry * x1 * x1
        den = rx * rx * y1 * y1 + ry * ry * x1 * x1
        if not 0 < den < math.inf:  # radii or chord so small (or large) that their squares under/overflow
            self.line(p)
            return
        coef = math.sqrt(max(0.0, num / den)) * (-1.0 if large == sweep else 1.0)
        cxp, cyp = coef * rx * y1 / ry, -coef * ry * x1 / rx
        cx = cos * cxp - sin * cyp + (p0[0] + p[0]) / 2
        cy = sin * cxp + cos * cyp + (p0[1] + p[1]) / 2
        theta = math.atan2((y1 - cyp) / ry, (x1 - cxp) / rx)
        delta = math.atan2((-y1 - cyp) / ry, (-x1 - cxp) / rx) - theta
        if sweep and delta < 0:
            delta += 2 * math.pi
        elif not sweep and delta > 0:
            delta -= 2 * math.pi
        n = max(1, math.ceil(abs(delta) / (math.pi / 2) - 1e-9))
        step = delta / n
        k = 4.0 / 3.0 * math.tan(step / 4)

        def at(x, y):
            return (cos * rx * x - sin * ry * y + cx, sin * rx * x + cos * ry * y + cy)

        for i in range(n):
            t1, t2 = theta + i * step, theta + (i + 1) * step
            e1, e2 = (math.cos(t1), math.sin(t1)), (math.cos(t2), math.sin(t2))
            c1 = at(e1[0] - k * e1[1], e1[1] + k * e1[0])
            c2 = at(e2[0] + k * e2[1], e2[1] - k * e2[0])
            self.cubic(c1, c2, p if i == n - 1 else at(*e2))

    def close(self):
        if self._start is None:
            return
        if self._n == 0:  # "M x y Z": a zero-length closed subpath
            self.line(self._start)
        elif self.current != self._start:
            self.line(self._start)
        self._finish(True)
        self.current = self._start

    def _finish(self, closed):
        if self._n > 0:
            self.subpaths.append((self._first, self._n, closed))
        self._n = 0

    def done(self) -> tuple:
        self._finish(False)
        return self.points, self.subpaths


class _Scanner:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def skip(self, commas=True):
        self.pos = (_SEP if commas else re.compile(r"\s*")).match(self.text, self.pos).end()

    def at_end(self):
        self.skip()
        return self.pos >= len(self.text)

    def number(self):
        self.skip()
        m = _NUM.match(self.text, self.pos)
        if not m:
            raise ValueError(f"number expected at {self.pos}")
        self.pos = m.end()
        return float(m.group())

    def flag(self):
        self.skip()
        if self.pos < len(self.text) and self.text[self.pos] in "01":
            self.pos += 1
            return self.text[self.pos - 1] == "1"
        raise ValueError(f"arc flag expected at {self.pos}")

    def starts_number(self):
        self.skip()
        return self.pos < len(self.text) and (self.text[self.pos].isdigit() or self.text[self.pos] in "+-.")


def parse_path(d: str) -> tuple:
    """Path data -> (points, subpaths, error message or None). On an error the path is kept up to the last
    complete command before it (SVG 1.1 F.2, SVG 2 §9.5.4); a path that does not start with a moveto is empty."""
    s, out = _Scanner(d or ""), Outline()
    cmd, prev, last_ctrl = None, None, None
    try:
        while not s.at_end():
            ch = s.text[s.pos]
            if ch.isalpha():
                if ch.upper() not in _ARGS:
                    raise ValueError(f"unknown command {ch!r}")
                cmd = ch
                s.pos += 1
            elif cmd is None or cmd.upper() == "Z":
                raise ValueError(f"command expected at {s.pos}")
            if out.current is None and cmd.upper() != "M":
                raise ValueError("path data must start with a moveto")
            up, rel = cmd.upper(), cmd.islower()
            if up == "Z":
                out.close()
                prev, last_ctrl = "Z", None
                continue
            while True:
                if up == "A":
                    args = [s.number(), s.number(), s.number(), s.flag(), s.flag(), s.number(), s.number()]
                else:
                    args = [s.number() for _ in range(_ARGS[up])]
                ox, oy = out.current if (rel and out.current is not None) else (0.0, 0.0)
                if up == "H":
                    args = [args[0] + (ox if rel else 0.0), out.current[1]]
                    ox = oy = 0.0
                elif up == "V":
                    args = [out.current[0], args[0] + (oy if rel else 0.0)]
                    ox = oy = 0.0
                pts = [(args[i] + ox, args[i + 1] + oy) for i in range(0, len(args) - 1, 2)] if up != "A" else []
                cur = out.current
                if up == "M":
                    out.move(pts[0])
                    up, cmd = "L", ("l" if rel else "L")  # following pairs are implicit linetos
                elif up in ("L", "H", "V"):
                    out.line(pts[0])
                elif up == "C":
                    out.cubic(pts[0], pts[1], pts[2])
                    last_ctrl = pts[1]
                elif up == "S":
                    c1 = (2 * cur[0] - last_ctrl[0], 2 * cur[1] - last_ctrl[1]) if prev in ("C", "S") else cur
                    out.cubic(c1, pts[0], pts[1])
                    last_ctrl = pts[0]
                elif up == "Q":
                    out.quad(pts[0], pts[1])
                    last_ctrl = pts[0]
                elif up == "T":
                    c = (2 * cur[0] - last_ctrl[0], 2 * cur[1] - last_ctrl[1]) if prev in ("Q", "T") else cur
                    out.quad(c, pts[0])
                    last_ctrl = c
                else:
                    out.arc(args[0], args[1], args[2], args[3], args[4], (args[5] + ox, args[6] + oy))
                prev = up if up in ("C", "S", "Q", "T") else "L"
                if not s.starts_number():
                    break
    except ValueError as err:
        pts, subs = out.done()
        return pts, subs, str(err)
    pts, subs = out.done()
    return pts, subs, None


def parse_points(text: str) -> tuple:
    """A ``points`` list -> (list of (x, y), error or None); an odd trailing coordinate is an error."""
    nums, s = [], _Scanner(text or "")
    try:
        while not s.at_end():
            nums.append(s.number())
    except ValueError as err:
        error = str(err)
    else:
        error = None
    if len(nums) % 2:
        nums, error = nums[:-1], error or "odd number of coordinates"
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)], error


def polyline(points: list, closed: bool) -> tuple:
    out = Outline()
    if len(points) >= 2:
        out.move(points[0])
        for p in points[1:]:
            out.line(p)
        if closed:
            out.close()
    return out.done()


def ellipse(cx, cy, rx, ry) -> tuple:
    """Four cubic quarter arcs, clockwise from (cx + rx, cy), closed."""
    out = Outline()
    kx, ky = KAPPA * rx, KAPPA * ry
    out.move((cx + rx, cy))
    out.cubic((cx + rx, cy + ky), (cx + kx, cy + ry), (cx, cy + ry))
    out.cubic((cx - kx, cy + ry), (cx - rx, cy + ky), (cx - rx, cy))
    out.cubic((cx - rx, cy - ky), (cx - kx, cy - ry), (cx, cy - ry))
    out.cubic((cx + kx, cy - ry), (cx + rx, cy - ky), (cx + rx, cy))
    out.close()
    return out.done()


def rect(x, y, w, h, rx, ry) -> tuple:
    """Rectangle (rounded when rx, ry > 0; both already clamped to half the sides), closed."""
    out = Outline()
    if rx <= 0 or ry <= 0:
        out.move((x, y))
        for p in ((x + w, y), (x + w, y + h), (x, y + h)):
            out.line(p)
        out.close()
        return out.done()
    kx, ky = KAPPA * rx, KAPPA * ry
    out.move((x + rx, y))
    out.line((x + w - rx, y))
    out.cubic((x + w - rx + kx, y), (x + w, y + ry - ky), (x + w, y + ry))
    out.line((x + w, y + h - ry))
    out.cubic((x + w, y + h - ry + ky), (x + w - rx + kx, y + h), (x + w - rx, y + h))
    out.line((x + rx, y + h))
    out.cubic((x + rx - kx, y + h), (x, y + h - ry + ky), (x, y + h - ry))
    out.line((x, y + ry))
    out.cubic((x, y + ry - ky), (x + rx - kx, y), (x + rx, y))
    out.close()
    return out.done()


_TRANSFORM = re.compile(r"\s*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^()]*)\)\s*,?")
_TRANSFORM_ARGS = {"matrix": (6,), "translate": (1, 2), "scale": (1, 2), "rotate": (1, 3), "skewX": (1,), "skewY": (1,)}


def multiply(m1: tuple, m2: tuple) -> tuple:
    """Affine ``m1 · m2`` (apply m2 first); matrices are (a, b, c, d, e, f) as in SVG ``matrix()``."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (a1 * a2 + c1 * b2, b1 * a2 + d1 * b2, a1 * c2 + c1 * d2, b1 * c2 + d1 * d2,
            a1 * e2 + c1 * f2 + e1, b1 * e2 + d1 * f2 + f1)


IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def parse_transform(text) -> "tuple | None":
    """A transform list -> (a, b, c, d, e, f); None when the list is malformed or not finite (the attribute is
    then ignored)."""
    m, pos, text = IDENTITY, 0, text or ""
    while pos < len(text.rstrip()):
        match = _TRANSFORM.match(text, pos)
        if not match:
            return None
        name, body = match.group(1), match.group(2).strip()
        try:
            args = [float(v) for v in _NUM.findall(body)]
        except ValueError:
            return None
        if re.sub(r"[\s,]", "", _NUM.sub("", body)) or len(args) not in _TRANSFORM_ARGS[name]:
            return None
        if not all(math.isfinite(v) for v in args):
            return None
        if name == "matrix":
            t = tuple(args)
        elif name == "translate":
            t = (1.0, 0.0, 0.0, 1.0, args[0], args[1] if len(args) > 1 else 0.0)
        elif name == "scale":
            t = (args[0], 0.0, 0.0, args[1] if len(args) > 1 else args[0], 0.0, 0.0)
        elif name == "rotate":
            r = math.radians(args[0])
            t = (math.cos(r), math.sin(r), -math.sin(r), math.cos(r), 0.0, 0.0)
            if len(args) == 3:
                t = multiply(multiply((1.0, 0.0, 0.0, 1.0, args[1], args[2]), t), (1.0, 0.0, 0.0, 1.0, -args[1], -args[2]))
        elif name == "skewX":
            t = (1.0, 0.0, math.tan(math.radians(args[0])), 1.0, 0.0, 0.0)
        else:
            t = (1.0, math.tan(math.radians(args[0])), 0.0, 1.0, 0.0, 0.0)
        m = multiply(m, t)
        pos = match.end()
    return m if all(math.isfinite(v) for v in m) else None
