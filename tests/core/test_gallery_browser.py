"""The gallery in a real browser (headless Chromium, from file://): moving the slider moves the wipe."""

import os
from pathlib import Path

import numpy as np
import pytest

from core.gallery import write_gallery
from core.gallery_results import results_sections
from tests.browser import Browser, find_browser
from tests.core.gallery_fixtures import write_results

CHROMIUM, DRIVER, MISSING = find_browser()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)
SAVE = os.environ.get("STYLIZE_SAVE_SCREENSHOTS")
"""When set, a folder where the screenshot is also saved (the README's picture comes from here)."""

BOX = "const box = [...document.querySelectorAll('[data-wipe]')]" \
      ".find(b => b.querySelector('.wipe-over').src.endsWith('content.jpg'));"
"""The wipe of the still-image result (the GIF pair animates)."""
STAGE = BOX + "box.scrollIntoView(); const r = box.querySelector('.wipe-stage').getBoundingClientRect();" \
              "return [r.left, r.top, r.width, r.height];"
SET = BOX + "const s = box.querySelector('input'); s.value = arguments[0];" \
            "s.dispatchEvent(new Event('input', {bubbles: true}));" \
            "return [getComputedStyle(box.querySelector('.wipe-over')).clipPath," \
            " box.querySelector('.wipe-line').style.left];"


def test_slider_moves_the_wipe(tmp_path):
    root = write_results(tmp_path)
    page = write_gallery(root, results_sections(root), "stylize gallery")
    with Browser(CHROMIUM, DRIVER, 900, 760) as browser:
        browser.get(page.resolve().as_uri())
        browser.wait_for(lambda: browser.execute("return [...document.images].every(i => i.complete)"), 10,
                         "the gallery's images did not load")
        left, top, width, height = browser.execute(STAGE)
        assert width > 100 and height > 50
        rows = slice(int(top + 0.2 * height), int(top + 0.8 * height))
        strip = slice(int(left + 0.25 * width), int(left + 0.45 * width))  # between the line at 20 % and at 50 %

        def strip_at(value):
            clip, line = browser.execute(SET, value)
            assert clip == f"inset(0px {100 - value}% 0px 0px)" and line == f"{value}%"
            return browser.screenshot()[rows, strip].astype(int)

        original, stylized = strip_at(100), strip_at(0)
        assert np.abs(original - stylized).mean() > 20  # the two pictures differ there
        half = strip_at(50)  # the strip lies left of the line: the original shows
        assert np.abs(half - original).mean() < 3
        fifth = strip_at(20)  # now right of the line: the stylized picture shows
        assert np.abs(fifth - stylized).mean() < 3
        if SAVE:
            from PIL import Image

            strip_at(50)
            browser.execute("[...document.querySelectorAll('h2')].find(h => h.textContent === 'stylize image')"
                            ".scrollIntoView();")
            Path(SAVE).mkdir(parents=True, exist_ok=True)
            Image.fromarray(browser.screenshot()).save(Path(SAVE) / "gallery.png")
