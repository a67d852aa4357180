"""A small headless-Chromium client for the browser tests: ChromeDriver spoken to over plain HTTP (W3C WebDriver).

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``); ``.ci/run``
installs them. :func:`find_browser` returns the two paths or a reason why they are missing, for ``pytest.skip``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars")


def find_browser() -> tuple[str | None, str | None, str]:
    """``(chromium, chromedriver, reason)``: the two executables, or ``None`` and why they are missing."""
    chromium = os.environ.get("STYLIZE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("STYLIZE_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver:
        return None, None, ("headless Chromium not found (apt-get install chromium chromium-driver; "
                            ".ci/run installs them)")
    return chromium, driver, ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium window of ``width x height`` CSS pixels, driven through ChromeDriver."""

    def __init__(self, chromium: str, driver: str, width: int = 800, height: int = 600):
        self._profile = tempfile.mkdtemp(prefix="stylize-chromium-")
        port = free_port()
        self._driver = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self._base = f"http://127.0.0.1:{port}"
        self._wait(lambda: self._request("GET", "/status").get("ready"), 20, "ChromeDriver did not start")
        args = list(CHROME_FLAGS) + [f"--user-data-dir={self._profile}", f"--window-size={width},{height}"]
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": chromium, "args": args}}}}
        self.session = self._request("POST", "/session", caps)["sessionId"]

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self._base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"WebDriver {method} {path}: {exc.read().decode(errors='replace')[:500]}") from None
        except (urllib.error.URLError, ConnectionError):
            if method == "GET" and path == "/status":
                return {}
            raise

    @staticmethod
    def _wait(condition, timeout: float, message: str, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(message)
            time.sleep(interval)

    def _session(self, method: str, path: str, body: dict | None = None) -> dict:
        return self._request(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    def execute(self, script: str, *args):
        """Run ``script`` (a function body; ``arguments[i]`` are ``args``) in the page and return its value."""
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self) -> np.ndarray:
        """The viewport as ``H,W,3`` uint8 RGB."""
        png = base64.b64decode(self._session("GET", "/screenshot"))
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def wait_for(self, condition, timeout: float = 20.0, message: str = "condition not met", interval: float = 0.2):
        """Poll ``condition()`` until it returns something true (returned) or ``timeout`` seconds pass."""
        return self._wait(condition, timeout, message, interval)

    def screenshot_when(self, predicate, timeout: float = 20.0, message: str = "screenshot condition not met"):
        """The first screenshot (``H,W,3`` uint8) for which ``predicate(shot)`` is true, polling until ``timeout``."""
        found = []
        self.wait_for(lambda: predicate(shot := self.screenshot()) and not found.append(shot), timeout, message)
        return found[0]

    def close(self) -> None:
        try:
            self._session("DELETE", "")
        except Exception:  # the browser may already be gone; the driver is stopped below either way
            pass
        self._driver.terminate()
        try:
            self._driver.wait(10)
        except subprocess.TimeoutExpired:
            self._driver.kill()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
