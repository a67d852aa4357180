"""``stylize view`` in a real browser: headless Chromium opens the viewer, the splats appear, the toggle switches
to the compare scene, the server-rendered path streams frames, Ctrl-C stops the server cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from core.scenes import scenes_dir
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import read_ply, write_ply
from stylize3d.viewer.app import Viewer, ViewerOptions
from stylize3d.viewer.shown_scene import BrowserSplats, ServerRendered
from tests.browser import Browser, find_browser, free_port

CHROMIUM, DRIVER, MISSING = find_browser()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)
REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 800, 600
PANEL = 360
"""Right-hand columns covered by viser's control panel; the canvas comparisons use the columns left of it."""
SAVE = os.environ.get("STYLIZE_SAVE_SCREENSHOTS")
"""When set, a folder where the screenshots are also saved (the README's pictures come from here)."""


class Served:
    """A ``stylize view`` subprocess; ``lines`` collects its stdout and stderr."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "core.cli", "view", *args, "--port", str(self.port),
                                      "--device", "cpu"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for_line("serving", 60)
        self.url = f"http://127.0.0.1:{self.port}/"

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from stylize view; output so far:\n{''.join(self.log)}")

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def canvas(shot: np.ndarray) -> np.ndarray:
    """The part of the viewport the control panel and the notifications leave free."""
    return shot[160:, : shot.shape[1] - PANEL].astype(np.int16)


def drawn_fraction(shot: np.ndarray, background=(255, 255, 255)) -> float:
    """Fraction of canvas pixels that differ from the background colour by more than 40 in some channel."""
    return float((np.abs(canvas(shot) - np.array(background)).max(axis=2) > 40).mean())


def click(browser: Browser, label: str) -> bool:
    """Click the viser GUI button whose text is ``label``; False when there is none."""
    return browser.execute("const b = [...document.querySelectorAll('button')]"
                           ".find(e => e.textContent.trim() === arguments[0]);"
                           "if (b) { b.click(); return true; } return false;", label)


def close_notifications(browser: Browser) -> None:
    """Dismiss viser's notifications (headless Chromium's software-WebGL warning)."""
    browser.execute("document.querySelectorAll('.mantine-Notification-closeButton').forEach(b => b.click());")


def save(shot: np.ndarray, name: str) -> None:
    if SAVE:
        from PIL import Image

        Path(SAVE).mkdir(parents=True, exist_ok=True)
        Image.fromarray(shot).save(Path(SAVE) / name)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A 1-in-12 subset of the bundled scene (1-in-3 when saving the README's screenshots) and a colour-inverted
    copy of it."""
    folder = tmp_path_factory.mktemp("viewer")
    scene = read_ply(scenes_dir() / "splats" / "sample_scene.ply")
    scene = scene.subset(torch.arange(0, scene.num_gaussians, 3 if SAVE else 12))
    write_ply(scene, folder / "scene.ply")
    colour = 0.5 + SH_C0 * scene.sh[:, 0]
    inverted = scene.detached_clone()
    inverted.sh[:, 0] = (0.5 - colour) / SH_C0  # colour' = 1 - colour
    write_ply(inverted, folder / "inverted.ply")
    return folder


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM, DRIVER, WIDTH, HEIGHT) as b:
        yield b


def test_viewer_shows_splats_and_toggles_to_compare(scenes, browser, tmp_path):
    served = Served(str(scenes / "scene.ply"), "--compare", str(scenes / "inverted.ply"),
                    "--cameras", str(scenes_dir() / "splats" / "transforms.json"), "--out", str(tmp_path))
    try:
        browser.get(served.url)
        browser.screenshot_when(lambda s: drawn_fraction(s) > 0.03, 90, "the splats never appeared on the canvas")
        close_notifications(browser)
        time.sleep(0.5)  # let the splat sort settle
        original = browser.screenshot()
        assert drawn_fraction(original) > 0.03
        save(original, "viewer.png")
        assert click(browser, "compare"), "no 'compare' button in the viewer's GUI"
        changed = browser.screenshot_when(
            lambda s: (np.abs(canvas(s) - canvas(original)).max(axis=2) > 60).mean() > 0.02,
            40, "the canvas did not change after switching to the compare scene")
        save(changed, "viewer_compare.png")
        assert drawn_fraction(changed) > 0.03
        # playing a camera path moves this tab's camera (the code a frustum click uses too)
        assert click(browser, "play")
        browser.screenshot_when(lambda s: (np.abs(canvas(s) - canvas(changed)).max(axis=2) > 60).mean() > 0.05,
                                40, "the view did not move while the camera path played")
        assert click(browser, "stop")
        assert served.interrupt() == 0
        served.wait_for_line("stopped", 5)
    finally:
        served.kill()


def test_server_rendered_representation_streams_our_renders(scenes, browser):
    """The path radiance fields take: a ServerRendered ``render_fn`` (here our splat renderer) drawn on the
    server at the client's camera and sent as the background image; the GUI says it is server-rendered."""
    splats = BrowserSplats(read_ply(scenes / "scene.ply"), "scene.ply")
    calls = []

    def render_fn(camera, width, height, background, sh_degree):
        calls.append((width, height))
        return splats.render(camera, width, height, background, sh_degree)

    rep = ServerRendered(render_fn, splats.bounds(), "field-like")
    viewer = Viewer(rep, options=ViewerOptions(port=free_port(), stream_size=192, moving_size=48))
    viewer.start()
    try:
        browser.get(f"http://127.0.0.1:{viewer.port}/")
        browser.screenshot_when(lambda s: drawn_fraction(s) > 0.03, 40, "no server-rendered frame reached the browser")
        close_notifications(browser)
        assert min(w for w, _ in calls) == 48  # the camera had just moved (connected): the low resolution first
        browser.wait_for(lambda: (192, 192) in calls or any(w == 192 for w, _ in calls), 30,
                         "no full-resolution frame after the camera settled")
        assert max(w for w, _ in calls) == 192
        time.sleep(0.5)
        save(browser.screenshot(), "viewer_server_rendered.png")
        assert "server-rendered" in browser.execute("return document.body.innerText;")
    finally:
        viewer.stop()
