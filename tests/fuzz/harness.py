"""The fuzzing harness: seed files, mutation strategies and the one invariant every reader must keep.

Invariant (:func:`check_reader`): handed any file, a reader returns a valid object (checked by the caller's
``valid`` function) or raises :class:`core.errors.InputError` whose message is one line; it never raises another
exception, never runs past :data:`HANG_SECONDS` (a SIGALRM watchdog; hypothesis' own per-example ``deadline``
flags slow examples) and never grows the process' peak memory by more than :data:`MEMORY_BOUND_MB`.

Adding a reader takes a few lines in a ``tests/fuzz/test_fuzz_*.py`` module::

    from tests.fuzz.harness import check_reader, examples, mutated_bytes, seed_dir

    @examples(20)
    @given(data=mutated_bytes(my_seed_bytes()))     # or mutated_json(doc), mutated_text(text), ...
    def test_my_reader_survives(data):
        check_reader(my_reader, write_input("my.ext", data), valid=lambda result: ...)

Strategies start from the bundled files in ``scenes/`` (or small files derived from them, built once per
session into :func:`seed_dir`) and apply byte flips, truncations, insertions, duplicated chunks, edits of
numeric fields (huge, negative, zero, NaN, inf, non-numbers), deep nesting and duplicated elements.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import resource
import signal
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

from hypothesis import settings
from hypothesis import strategies as st

from core.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SCENES = REPO / "scenes"
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "stylize")
SCALE = 20 if PROFILE == "fuzz" else 1
"""The ``fuzz`` profile (``make fuzz``) runs 20x the examples of the default profile (``make test``)."""
HANG_SECONDS = 60
MEMORY_BOUND_MB = 1500
"""A reader handed a small hostile file must not raise the process' peak RSS by more than this."""


def examples(n: int):
    """``@settings`` with ``n`` examples per test in ``make test`` and ``20 n`` under ``HYPOTHESIS_PROFILE=fuzz``;
    the other settings (deadline, derandomize, no database) come from the loaded profile (see conftest.py)."""
    return settings(max_examples=n * SCALE)


# ----------------------------------------------------------------------------------------- the invariant


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that a reader's ``except Exception`` cannot swallow it."""


def _alarm(signum, frame):
    raise Hang(f"reader ran longer than {HANG_SECONDS} s")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def check_reader(reader: Callable[..., Any], *args, valid: Callable[[Any], Any] | None = None, **kwargs) -> Any:
    """Call ``reader(*args, **kwargs)`` and assert the invariant. Returns the reader's result, or the
    :class:`InputError` it raised. ``valid(result)`` asserts what a returned object must satisfy."""
    before = _peak_rss_mb()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with warnings.catch_warnings():  # readers warn about what they drop or ignore; expected here
            warnings.simplefilter("ignore")
            result = reader(*args, **kwargs)
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, f"InputError message is not one line: {message!r}"
        assert "Traceback" not in message, message
        result = exc
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    grown = _peak_rss_mb() - before
    assert grown < MEMORY_BOUND_MB, f"peak memory grew by {grown:.0f} MB reading a hostile input"
    if not isinstance(result, InputError) and valid is not None:
        valid(result)
    return result


# ----------------------------------------------------------------------------------------- files


@functools.lru_cache(maxsize=None)
def seed_dir() -> Path:
    """A per-session temporary folder for seed files derived from scenes/ and for the mutated inputs."""
    return Path(tempfile.mkdtemp(prefix="stylize_fuzz_"))


def write_input(name: str, data: "bytes | str") -> Path:
    """Write one mutated input to the session folder (overwriting the previous example's) and return its path."""
    path = seed_dir() / name
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------------- strategies

HOSTILE_NUMBER_TEXT = ["0", "-0", "-1", "-42000", "1e9", "-1e9", "1e309", "-1e309", "nan", "NaN", "inf", "-inf",
                       "1e-320", "4294967297", "99999999999999999999999", "9" * 5000, "1.5", "0x10", "", "abc",
                       "1e", "--1", "+", "１"]
"""Replacement text for a numeric field of a text format: zero, negative, huge, NaN/inf, fractions, junk."""

HOSTILE_JSON_VALUES = [None, True, False, 0, -1, -(10 ** 9), 10 ** 9, 10 ** 400, 0.0, -0.0, 1e-300, 1e300,
                       math.nan, math.inf, -math.inf, "", "abc", "1", [], {}, [[]], [1, 2, 3], {"a": 1},
                       [[math.nan] * 4] * 4, [[0.0] * 4] * 4, [[1e300] * 4] * 4]
"""Replacement values for any JSON field (Python's json writes NaN/Infinity, which it also reads back)."""


def mutated_bytes(seed: bytes, max_edits: int = 4) -> st.SearchStrategy[bytes]:
    """``seed`` with 1..``max_edits`` byte-level edits: flips, overwrites with 0x00/0xff, truncation,
    inserted random bytes, deleted or duplicated chunks."""

    @st.composite
    def build(draw):
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, max_edits))):
            kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "duplicate"]))
            if not data:
                break
            i = draw(st.integers(0, len(data) - 1))
            if kind == "flip":
                data[i] ^= 1 << draw(st.integers(0, 7))
            elif kind == "set":
                data[i] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
            elif kind == "truncate":
                del data[i:]
            elif kind == "insert":
                data[i:i] = draw(st.binary(min_size=1, max_size=16))
            else:
                n = draw(st.integers(1, min(4096, len(data) - i)))
                if kind == "delete":
                    del data[i:i + n]
                else:
                    data[i:i] = data[i:i + n]
        return bytes(data)

    return build()


_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutated_numbers(seed: bytes, region: "tuple[int, int] | None" = None, max_edits: int = 3) -> st.SearchStrategy[bytes]:
    """``seed`` with 1..``max_edits`` numeric tokens (inside ``region``, a byte range, when given) replaced by
    :data:`HOSTILE_NUMBER_TEXT` entries: header counts, sizes, coordinates."""
    lo, hi = region or (0, len(seed))
    spans = [m.span() for m in _NUMBER.finditer(seed, lo, hi)]
    if not spans:
        raise ValueError("seed has no numbers to edit")

    @st.composite
    def build(draw):
        picks = sorted(set(draw(st.lists(st.integers(0, len(spans) - 1), min_size=1, max_size=max_edits))), reverse=True)
        data = seed
        for k in picks:
            a, b = spans[k]
            data = data[:a] + draw(st.sampled_from(HOSTILE_NUMBER_TEXT)).encode() + data[b:]
        return data

    return build()


def _paths(doc, prefix=()):
    """Every (path, value) in a JSON document, the root first."""
    yield prefix, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _paths(value, prefix + (i,))


def _replace(doc, path, fn):
    if not path:
        return fn(doc)
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        out = dict(doc)
    else:
        out = list(doc)
    result = _replace(doc[head], rest, fn)
    if result is _DELETE:
        del out[head]
    else:
        out[head] = result
    return out


_DELETE = object()
_DEEP = "\u2063deep\u2063"
DEEP = 100_000
"""Nesting depth of the deepest generated documents (JSON lists, SVG groups)."""


def deeply_nested(depth: int, leaf: Any = 0) -> Any:
    """``[[[...leaf...]]]`` nested ``depth`` lists deep (built without recursion)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def mutated_json(seed: Any, max_edits: int = 3) -> st.SearchStrategy[str]:
    """JSON text of ``seed`` with 1..``max_edits`` structural edits at random places: a value replaced by a
    :data:`HOSTILE_JSON_VALUES` entry or by deep nesting, a key deleted, a list element duplicated or dropped."""
    paths = [p for p, _ in _paths(seed)]

    @st.composite
    def build(draw):
        doc = seed
        for _ in range(draw(st.integers(1, max_edits))):
            current = [p for p, _ in _paths(doc)] if doc is not seed else paths
            path = draw(st.sampled_from(current))
            kind = draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "nest"]))
            if kind == "value":
                new = draw(st.sampled_from(HOSTILE_JSON_VALUES))
                doc = _replace(doc, path, lambda _: new)
            elif kind == "nest" and draw(st.booleans()):
                depth = draw(st.sampled_from([3, 100]))
                doc = _replace(doc, path, lambda v: deeply_nested(depth, v))
            elif kind == "nest":  # deeper than json.dumps goes: spliced into the text below
                doc = _replace(doc, path, lambda _: _DEEP)
            elif kind == "delete" and path:
                doc = _replace(doc, path, lambda _: _DELETE)
            elif kind == "duplicate":
                doc = _replace(doc, path, lambda v: (v * draw(st.sampled_from([0, 2, 50]))) if isinstance(v, list) else v)
        return json.dumps(doc).replace(json.dumps(_DEEP), "[" * DEEP + "0" + "]" * DEEP)

    return build()


def mutated_text(seed: str, max_edits: int = 3) -> st.SearchStrategy[str]:
    """Text of ``seed`` with byte edits (kept valid UTF-8 where possible) or numeric-field edits."""
    raw = seed.encode()
    return st.one_of(mutated_numbers(raw, max_edits=max_edits), mutated_bytes(raw, max_edits=max_edits)).map(
        lambda b: b.decode("utf-8", errors="replace"))
