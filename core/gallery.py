"""The demo's HTML gallery: sections of items, each item a row of media (images, GIFs, MP4s, SVGs) with a caption.

Front ends contribute sections through the entry-point group ``stylize.demos``; see :mod:`core.demo`.
"""

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Tuple

from core.atomic import atomic_output

VIDEO_SUFFIXES = (".mp4", ".webm")


@dataclass
class Item:
    """One row: ``media`` is a list of ``(label, path relative to the gallery folder)``; ``caption`` is plain text."""

    title: str
    media: List[Tuple[str, str]]
    caption: str = ""


@dataclass
class Section:
    """A titled group of items (one per front end or method)."""

    title: str
    description: str = ""
    items: List[Item] = field(default_factory=list)


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;background:#fafafa;color:#222}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ccc}
.row{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start;margin:1em 0}
figure{margin:0;text-align:center} figure img,figure video{max-height:300px;max-width:420px;border:1px solid #ddd;background:#fff}
figcaption{font-size:.85em;color:#555} .caption{font-size:.85em;color:#444;white-space:pre-wrap}"""


def _media_html(label: str, path: str) -> str:
    src = html.escape(path, quote=True)
    if Path(path).suffix.lower() in VIDEO_SUFFIXES:
        tag = f'<video src="{src}" controls loop muted autoplay playsinline></video>'
    else:
        tag = f'<img src="{src}" alt="{html.escape(label, quote=True)}">'
    return f"<figure>{tag}<figcaption>{html.escape(label)}</figcaption></figure>"


def render_html(sections: Sequence[Section], title: str = "Stylize demo") -> str:
    """The gallery page as an HTML string."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.description:
            parts.append(f"<p>{html.escape(section.description)}</p>")
        for item in section.items:
            parts.append(f"<h3>{html.escape(item.title)}</h3><div class='row'>")
            parts.extend(_media_html(label, path) for label, path in item.media)
            parts.append("</div>")
            if item.caption:
                parts.append(f"<div class='caption'>{html.escape(item.caption)}</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_gallery(out_dir: Path, sections: Sequence[Section], title: str = "Stylize demo") -> Path:
    """Write ``out_dir/index.html`` atomically and return its path."""
    path = Path(out_dir) / "index.html"
    with atomic_output(path) as tmp:
        tmp.write_text(render_html(sections, title), encoding="utf-8")
    return path
