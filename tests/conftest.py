"""Shared fixtures: tiny images and files written into pytest's tmp folders."""

import os

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """The fast path's ONNX graphs (``core.nn.onnx_cache``) are built into a folder of this test session, not the
    user's cache; subprocesses started by tests inherit it."""
    previous = os.environ.get("STYLIZE_CACHE_DIR")
    os.environ["STYLIZE_CACHE_DIR"] = str(tmp_path_factory.mktemp("stylize-cache"))
    yield
    if previous is None:
        os.environ.pop("STYLIZE_CACHE_DIR", None)
    else:
        os.environ["STYLIZE_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _seeded_single_thread_torch():
    """Every test starts from seed 0 on one intra-op thread (restored afterwards).

    The tests' tensors are tiny: thread start-up and OpenMP spin-waiting cost more than a second thread gains,
    and on a loaded 2-core machine two threads were measured 2–10× slower than one.
    """
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_png(path, height=40, width=56, seed=0):
    """A smooth random RGB image saved as PNG; returns the path."""
    rng = np.random.default_rng(seed)
    base = rng.random((height // 8 + 2, width // 8 + 2, 3))
    img = Image.fromarray((base * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR)
    img.save(path)
    return path


@pytest.fixture
def content_png(tmp_path):
    return write_png(tmp_path / "content.png", seed=1)


@pytest.fixture
def style_png(tmp_path):
    return write_png(tmp_path / "style.png", height=48, width=48, seed=2)
