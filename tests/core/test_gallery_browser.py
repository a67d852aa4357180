"""The gallery in a real browser (headless Chromium, from file://): moving the slider moves the wipe, over two
images and over two videos kept on the same frame."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.gallery import Item, Section, write_gallery
from core.gallery_results import results_sections
from stylize3d.video import write_frames
from tests.browser import Browser, find_browser
from tests.core.gallery_fixtures import write_results

CHROMIUM, DRIVER, MISSING = find_browser()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)
SAVE = os.environ.get("STYLIZE_SAVE_SCREENSHOTS")
"""When set, a folder where the screenshot is also saved (the README's picture comes from here)."""

BOX = "const box = [...document.querySelectorAll('[data-wipe]')]" \
      ".find(b => b.querySelector('.wipe-over').src.endsWith(arguments[0]));"
"""Finds the wipe whose original (the top layer) is the file named ``arguments[0]``."""
STAGE = BOX + "box.scrollIntoView(); const r = box.querySelector('.wipe-stage').getBoundingClientRect();" \
              "return [r.left, r.top, r.width, r.height];"
SET = BOX + "const s = box.querySelector('input'); s.value = arguments[1];" \
            "s.dispatchEvent(new Event('input', {bubbles: true}));" \
            "return [getComputedStyle(box.querySelector('.wipe-over')).clipPath," \
            " box.querySelector('.wipe-line').style.left];"


def check_wipe(browser: Browser, original: str) -> None:
    """Moving the slider of the wipe over ``original`` moves the line: a strip between 25 % and 45 % of the
    picture shows the original with the line at 50 and the stylized picture with the line at 20."""
    left, top, width, height = browser.execute(STAGE, original)
    assert width > 100 and height > 50
    rows = slice(int(top + 0.2 * height), int(top + 0.8 * height))
    strip = slice(int(left + 0.25 * width), int(left + 0.45 * width))

    def strip_at(value):
        clip, line = browser.execute(SET, original, value)
        assert clip == f"inset(0px {100 - value}% 0px 0px)" and line == f"{value}%"
        return browser.screenshot()[rows, strip].astype(int)

    shown_original, shown_stylized = strip_at(100), strip_at(0)
    assert np.abs(shown_original - shown_stylized).mean() > 20  # the two pictures differ there
    assert np.abs(strip_at(50) - shown_original).mean() < 3
    assert np.abs(strip_at(20) - shown_stylized).mean() < 3


def test_slider_moves_the_wipe(tmp_path):
    root = write_results(tmp_path)
    page = write_gallery(root, results_sections(root), "stylize gallery")
    with Browser(CHROMIUM, DRIVER, 900, 760) as browser:
        browser.get(page.resolve().as_uri())
        browser.wait_for(lambda: browser.execute("return [...document.images].every(i => i.complete)"), 10,
                         "the gallery's images did not load")
        check_wipe(browser, "content.jpg")
        if SAVE:
            from PIL import Image

            browser.execute(SET, "content.jpg", 50)
            browser.execute("[...document.querySelectorAll('h2')].find(h => h.textContent === 'stylize image')"
                            ".scrollIntoView();")
            Path(SAVE).mkdir(parents=True, exist_ok=True)
            Image.fromarray(browser.screenshot()).save(Path(SAVE) / "gallery.png")


def test_video_wipe_keeps_both_videos_on_one_frame(tmp_path):
    ramp = torch.linspace(0, 1, 24)[:, None, None, None].expand(24, 1, 48, 72)
    frames = torch.cat([ramp, torch.full_like(ramp, 0.2), 1 - ramp], 1)  # 24 frames fading red -> blue
    write_frames(frames, tmp_path / "original.mp4", 72, 48, 12)
    write_frames(1 - frames, tmp_path / "stylized.mp4", 72, 48, 12)
    page = write_gallery(tmp_path, [Section("video", items=[
        Item("clip", [("original", "original.mp4"), ("stylized", "stylized.mp4")])])])
    times = "return [...document.querySelectorAll('.wipe video')].map(v => [v.currentTime, v.paused, v.readyState]);"
    with Browser(CHROMIUM, DRIVER, 800, 600) as browser:
        browser.get(page.resolve().as_uri())
        browser.wait_for(lambda: all(t > 0.3 and state >= 2 for t, _, state in browser.execute(times)), 20,
                         "the two videos did not play")
        browser.execute("document.querySelector('.video-toggle').click();")  # pause both on one frame
        (under, under_paused, _), (over, over_paused, _) = browser.execute(times)
        assert under_paused and over_paused and abs(under - over) < 0.1
        check_wipe(browser, "original.mp4")
