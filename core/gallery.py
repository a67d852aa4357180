"""The HTML gallery of ``stylize demo`` and ``stylize gallery``: sections of items, each item a row of media
(images, GIFs, MP4s, SVGs), an original | stylized wipe, the command line, key numbers and links.

Front ends contribute demo sections through the entry-point group ``stylize.demos``; see :mod:`core.demo`.
``stylize gallery`` builds sections from a folder of report JSONs; see :mod:`core.gallery_results`.

The page is static HTML with a little inline JavaScript and CSS (no CDN, nothing fetched), so it works from
``file://``. A wipe is two stacked images or videos of the same size: the original on top, clipped to the part
left of the line, the stylized one underneath; dragging on the picture or moving the slider under it moves the
line (the script keeps two videos on the same frame).
"""

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from core.atomic import atomic_output

VIDEO_SUFFIXES = (".mp4", ".webm")
GALLERY_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp")
"""Media a browser shows inline as ``<img>`` (unlike :data:`core.io.images.IMAGE_SUFFIXES`, what the toolkit reads)."""
ORIGINAL_LABELS = ("original", "content", "input")
STYLIZED_LABELS = ("stylized", "result", "restyled", "consistent")


@dataclass
class Item:
    """One result.

    ``media``: ``(label, path relative to the gallery folder)`` shown in a row (those in the wipe only there);
    ``caption``: plain text.
    ``compare``: ``(original, stylized)`` paths for the wipe; ``None`` picks them from ``media`` by label (the first
    label naming an original — original, content, input — and the first naming a result — stylized, result,
    restyled — of the same kind, image or video); ``()`` means no wipe. ``command``: the command line.
    ``numbers``: label → formatted value (time, distances, consistency). ``links``: ``(label, path)`` to files.
    """

    title: str
    media: List[Tuple[str, str]]
    caption: str = ""
    compare: Optional[Tuple[str, ...]] = None
    command: str = ""
    numbers: Dict[str, str] = field(default_factory=dict)
    links: List[Tuple[str, str]] = field(default_factory=list)

    def wipe_pair(self) -> Optional[Tuple[str, str]]:
        """The ``(original, stylized)`` pair of the wipe, or None."""
        if self.compare is not None:
            return tuple(self.compare) if len(self.compare) == 2 else None
        for label, path in self.media:
            if any(word in label.lower() for word in ORIGINAL_LABELS) and media_kind(path):
                for other_label, other in self.media:
                    if (other != path and any(word in other_label.lower() for word in STYLIZED_LABELS)
                            and media_kind(other) == media_kind(path)):
                        return path, other
        return None


@dataclass
class Section:
    """A titled group of items (one per front end or method)."""

    title: str
    description: str = ""
    items: List[Item] = field(default_factory=list)


def media_kind(path: str) -> Optional[str]:
    """``"video"``, ``"image"`` or None (not shown inline) from the file suffix."""
    suffix = Path(path).suffix.lower()
    return "video" if suffix in VIDEO_SUFFIXES else "image" if suffix in GALLERY_IMAGE_SUFFIXES else None


_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;background:#fafafa;color:#222}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ccc}
.row{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start;margin:1em 0}
figure{margin:0;text-align:center} figure img,figure video{max-height:300px;max-width:420px;border:1px solid #ddd;background:#fff}
figcaption{font-size:.85em;color:#555} .caption{font-size:.85em;color:#444;white-space:pre-wrap}
.result{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-start} .info{flex:1;min-width:280px}
.info .row{margin-top:.5em} .info figure img{max-height:160px}
.wipe{width:min(480px,92vw);margin:.5em 0}
.wipe-stage{position:relative;cursor:ew-resize;touch-action:none;user-select:none;line-height:0}
.wipe-stage img,.wipe-stage video{display:block;width:100%;height:auto;border:1px solid #ddd;
  box-sizing:border-box;background:#fff}
.wipe-stage .wipe-over{position:absolute;left:0;top:0;height:100%;object-fit:fill;
  border-color:transparent}
.wipe-line{position:absolute;top:0;bottom:0;width:2px;margin-left:-1px;background:#fff;box-shadow:0 0 3px #000;
  pointer-events:none}
.wipe input{width:100%;margin:.3em 0 0}
.wipe-labels{display:flex;justify-content:space-between;font-size:.8em;color:#555}
pre.cmd{background:#f0f0f0;padding:.5em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}
table.numbers{border-collapse:collapse;font-size:.85em} table.numbers td{padding:.1em .8em .1em 0}
table.numbers td:first-child{color:#555} .links{font-size:.85em} .links a{margin-right:1em;white-space:nowrap}
.video-toggle{font-size:.8em;margin-top:.3em}"""

_SCRIPT = """function setWipe(box, value) {
  const v = Math.max(0, Math.min(100, Number(value)));
  box.querySelector('.wipe-over').style.clipPath = 'inset(0 ' + (100 - v) + '% 0 0)';
  box.querySelector('.wipe-line').style.left = v + '%';
  box.querySelector('input').value = v;
}
document.querySelectorAll('[data-wipe]').forEach(function (box) {
  const slider = box.querySelector('input'), stage = box.querySelector('.wipe-stage');
  slider.addEventListener('input', function () { setWipe(box, slider.value); });
  function drag(e) { const r = stage.getBoundingClientRect(); setWipe(box, 100 * (e.clientX - r.left) / r.width); }
  stage.addEventListener('pointerdown', function (e) { stage.setPointerCapture(e.pointerId); drag(e); });
  stage.addEventListener('pointermove', function (e) { if (e.buttons) drag(e); });
  const under = box.querySelector('.wipe-under'), over = box.querySelector('.wipe-over');
  if (under.tagName === 'VIDEO') {
    under.addEventListener('timeupdate', function () {
      if (Math.abs(over.currentTime - under.currentTime) > 0.08) over.currentTime = under.currentTime; });
    const button = box.querySelector('.video-toggle');
    button.addEventListener('click', function () {
      if (under.paused) { under.play(); over.play(); } else { under.pause(); over.pause();
        over.currentTime = under.currentTime; } });
  }
  setWipe(box, slider.value);
});"""


def _media_tag(path: str, label: str, extra: str = "") -> str:
    src = html.escape(path, quote=True)
    if media_kind(path) == "video":
        return f'<video src="{src}" {extra} loop muted autoplay playsinline></video>'
    return f'<img src="{src}" alt="{html.escape(label, quote=True)}" {extra}>'


def _media_html(label: str, path: str) -> str:
    if media_kind(path) == "video":
        tag = f'<video src="{html.escape(path, quote=True)}" controls loop muted autoplay playsinline></video>'
    elif media_kind(path) == "image":
        tag = _media_tag(path, label)
    else:
        return f"<figure><a href='{html.escape(path, quote=True)}'>{html.escape(label)}</a></figure>"
    return f"<figure>{tag}<figcaption>{html.escape(label)}</figcaption></figure>"


def wipe_html(original: str, stylized: str) -> str:
    """A draggable original | stylized wipe over two images or two videos (paths relative to the page)."""
    parts = ["<div class='wipe' data-wipe><div class='wipe-stage'>",
             _media_tag(stylized, "stylized", "class='wipe-under'"),
             _media_tag(original, "original", "class='wipe-over'"),
             "<div class='wipe-line'></div></div>",
             "<input type='range' min='0' max='100' step='0.5' value='50' aria-label='wipe position'>",
             "<div class='wipe-labels'><span>&larr; original</span><span>stylized &rarr;</span></div>"]
    if media_kind(stylized) == "video":
        parts.append("<button type='button' class='video-toggle'>pause / play</button>")
    parts.append("</div>")
    return "".join(parts)


def _item_html(item: Item) -> str:
    parts = [f"<h3>{html.escape(item.title)}</h3><div class='result'>"]
    pair = item.wipe_pair()
    if pair is not None:
        parts.append(wipe_html(*pair))
    parts.append("<div class='info'><div class='row'>")
    parts.extend(_media_html(label, path) for label, path in item.media if pair is None or path not in pair)
    parts.append("</div>")
    if item.command:
        parts.append(f"<pre class='cmd'>{html.escape(item.command)}</pre>")
    if item.numbers:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in item.numbers.items())
        parts.append(f"<table class='numbers'>{rows}</table>")
    if item.caption:
        parts.append(f"<div class='caption'>{html.escape(item.caption)}</div>")
    if item.links:
        links = "".join(f"<a href='{html.escape(path, quote=True)}'>{html.escape(label)}</a>"
                        for label, path in item.links)
        parts.append(f"<div class='links'>files: {links}</div>")
    parts.append("</div></div>")
    return "".join(parts)


def render_html(sections: Sequence[Section], title: str = "Stylize demo") -> str:
    """The gallery page as an HTML string."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.description:
            parts.append(f"<p>{html.escape(section.description)}</p>")
        parts.extend(_item_html(item) for item in section.items)
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "".join(parts)


def write_gallery(out_dir: Path, sections: Sequence[Section], title: str = "Stylize demo") -> Path:
    """Write ``out_dir/index.html`` atomically and return its path."""
    path = Path(out_dir) / "index.html"
    with atomic_output(path) as tmp:
        tmp.write_text(render_html(sections, title), encoding="utf-8")
    return path
