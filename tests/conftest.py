"""Shared fixtures: tiny images and files written into pytest's tmp folders."""

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def _small_torch():
    torch.manual_seed(0)
    yield


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
