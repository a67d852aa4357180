"""The gallery in a real browser (headless Chromium, from file://): moving the slider moves the wipe."""

import numpy as np
import pytest

from core.gallery import write_gallery
from core.gallery_results import results_sections
from tests.browser import Browser, find_browser
from tests.core.gallery_fixtures import write_results

CHROMIUM, DRIVER, MISSING = find_browser()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)

STAGE = "const r = document.querySelector('.wipe-stage').getBoundingClientRect();" \
        "return [r.left, r.top, r.width, r.height];"
SET = "const s = document.querySelector('.wipe input'); s.value = arguments[0];" \
      "s.dispatchEvent(new Event('input', {bubbles: true}));" \
      "return [getComputedStyle(document.querySelector('.wipe-over')).clipPath," \
      " document.querySelector('.wipe-line').style.left];"


def test_slider_moves_the_wipe(tmp_path):
    root = write_results(tmp_path)
    page = write_gallery(root, results_sections(root), "gallery test")
    with Browser(CHROMIUM, DRIVER, 900, 700) as browser:
        browser.get(page.resolve().as_uri())
        browser.wait_for(lambda: browser.execute("return document.querySelector('.wipe-over').complete"), 10,
                         "the wipe's images did not load")
        left, top, width, height = browser.execute(STAGE)
        assert width > 50 and height > 30
        row = int(top + height / 2)
        # columns between 25 % and 45 % of the picture: original (left of the line) at 50, stylized at 20
        cols = slice(int(left + 0.25 * width), int(left + 0.45 * width))
        clip, line = browser.execute(SET, 50)
        assert clip == "inset(0px 50% 0px 0px)" and line == "50%"
        at_half = browser.screenshot()[row, cols].astype(int)
        clip, line = browser.execute(SET, 20)
        assert clip == "inset(0px 80% 0px 0px)" and line == "20%"
        at_fifth = browser.screenshot()[row, cols].astype(int)
        # content.png and result.png are colour inverses: the strip flipped from one to the other
        assert np.abs(at_half + at_fifth - 255).mean() < 25
        assert np.abs(at_half - at_fifth).mean() > 60
