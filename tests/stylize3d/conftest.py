"""Shared tiny fixtures for the stylize3d tests."""

import importlib.util
import math
from pathlib import Path

import torch
import pytest

from stylize3d.cameras import Cameras, intrinsics_from_fov, look_at
from stylize3d.splats.scene import GaussianScene, num_sh_coeffs


def ring_cameras(n: int, size: int, radius: float, height: float, step: float, fov: float) -> Cameras:
    """``n`` square ``size`` px cameras at ``radius`` from the z axis and ``height`` above the origin, ``step``
    radians apart, looking at the origin (z up), with a ``fov`` degree field of view."""
    eyes = torch.stack([torch.tensor([radius * math.cos(a), radius * math.sin(a), height])
                        for a in torch.arange(n) * step])
    K = intrinsics_from_fov(fov, size, size)
    return Cameras(look_at(eyes, torch.zeros(3), torch.tensor([0.0, 0, 1])), K.repeat(n, 1, 1),
                   torch.full((n,), size), torch.full((n,), size))


def random_scene(n: int = 64, degree: int = 3, seed: int = 0, spread: float = 1.0) -> GaussianScene:
    """``n`` random Gaussians in a cube of half-size ``spread`` around the origin."""
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(
        means=(torch.rand(n, 3, generator=g) * 2 - 1) * spread,
        quats=torch.randn(n, 4, generator=g),
        log_scales=torch.log(torch.rand(n, 3, generator=g) * 0.08 + 0.02),
        opacity_logits=torch.randn(n, generator=g),
        sh=torch.randn(n, num_sh_coeffs(degree), 3, generator=g) * 0.5,
    )


@pytest.fixture
def scene3():
    return random_scene()


@pytest.fixture
def make_scene():
    """The :func:`random_scene` factory, for tests that need several sizes or seeds."""
    return random_scene




TINY_SD_HELPER = Path(__file__).resolve().parents[1] / "core" / "priors" / "conftest.py"


@pytest.fixture(scope="session")
def tiny_ip2p(tmp_path_factory):
    """A tiny random InstructPix2Pix folder (8-channel UNet) written by the installed diffusers' save_pretrained
    (built by the priors tests' helper)."""
    pytest.importorskip("diffusers", reason="diffusers is not installed")
    spec = importlib.util.spec_from_file_location("tiny_sd_helper", TINY_SD_HELPER)
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    root = tmp_path_factory.mktemp("tiny_ip2p")
    helper.build_tiny_model(root, unet_in_channels=8, pipeline="StableDiffusionInstructPix2PixPipeline")
    return root
