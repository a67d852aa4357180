"""Fixtures for the nerfstudio plug-in tests (run in .venv-nerfstudio by `make test-nerfstudio`).

Everything is tiny and on the CPU: a synthetic splatfacto state (a few hundred Gaussians on a coloured plane, SH
degree 3), cameras around it, and a nerfstudio data folder rendered from that state with our renderer.
splatfacto builds torchmetrics' LPIPS (an evaluation metric) whenever a model is made, and LPIPS fetches
torchvision's AlexNet weights from the network on first use: :func:`no_lpips_download` puts a stand-in there,
so no test downloads anything.
"""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from stylize3d.sh import SH_C0

WIDTH, HEIGHT, FOCAL = 48, 36, 44.0


class _NoLpips(torch.nn.Module):
    """LPIPS stand-in: a constant 0 (the tests never read LPIPS)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, a, b):
        return torch.zeros((), device=a.device)


@pytest.fixture(autouse=True)
def no_lpips_download(monkeypatch):
    import torchmetrics.image.lpip

    monkeypatch.setattr(torchmetrics.image.lpip, "LearnedPerceptualImagePatchSimilarity", _NoLpips)


def splatfacto_state(n_side=16, degree=3, seed=0) -> dict:
    """splatfacto's ``gauss_params`` for an ``n_side²`` grid on the plane z = 0 (x, y in [−1, 1]), opaque,
    overlapping, with smoothly varying colours and small random higher-degree SH."""
    g = torch.Generator().manual_seed(seed)
    lin = torch.linspace(-1, 1, n_side)
    y, x = torch.meshgrid(lin, lin, indexing="ij")
    means = torch.stack([x, y, torch.zeros_like(x)], dim=-1).reshape(-1, 3)
    n = means.shape[0]
    colour = torch.stack([0.5 + 0.4 * means[:, 0], 0.5 + 0.4 * means[:, 1], 0.3 + 0.1 * torch.rand(n, generator=g)], 1)
    return {"means": means, "scales": torch.full((n, 3), math.log(1.5 / n_side)),
            "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
            "features_dc": (colour - 0.5) / SH_C0,
            "features_rest": 0.01 * torch.randn(n, (degree + 1) ** 2 - 1, 3, generator=g),
            "opacities": torch.full((n, 1), 3.0)}


def camera_to_worlds(count=4) -> torch.Tensor:
    """``count,3,4`` OpenGL camera-to-world matrices 3 units from the origin, looking at it from +z, spread ±20°."""
    from stylize3d.cameras import look_at, viewmat_to_c2w_opengl

    angles = torch.linspace(-20, 20, count) * math.pi / 180
    eyes = torch.stack([3 * torch.sin(angles), 0.3 * torch.ones(count), 3 * torch.cos(angles)], dim=1)
    viewmats = look_at(eyes, torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))
    return viewmat_to_c2w_opengl(viewmats)[:, :3]


def ns_cameras(c2w: torch.Tensor):
    from nerfstudio.cameras.cameras import Cameras, CameraType

    count = c2w.shape[0]
    return Cameras(camera_to_worlds=c2w, fx=torch.full((count, 1), FOCAL), fy=torch.full((count, 1), FOCAL),
                   cx=torch.full((count, 1), WIDTH / 2), cy=torch.full((count, 1), HEIGHT / 2),
                   width=torch.full((count, 1), WIDTH), height=torch.full((count, 1), HEIGHT),
                   camera_type=CameraType.PERSPECTIVE)


@pytest.fixture
def style_file(tmp_path):
    """A 64×64 style picture: two blue-green colours in 4-pixel stripes. Its colour statistics are far from the
    scene's, yet an affine map takes the scene's colours there without leaving [0, 1] (no clamping)."""
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, :] = [25, 150, 200]
    stripes[(np.arange(64) // 4) % 2 == 1] = [75, 200, 150]
    path = tmp_path / "style.png"
    Image.fromarray(stripes).save(path)
    return path


def build_model(style_file, state=None, **overrides):
    """A :class:`StyleSplatModel` on the CPU holding ``state`` (default :func:`splatfacto_state`), train mode."""
    from nerfstudio.data.scene_box import SceneBox

    from stylize3d.nerfstudio.model import StyleSplatModelConfig

    config = StyleSplatModelConfig(style_image=style_file, num_random=50, **overrides)
    model = config.setup(scene_box=SceneBox(aabb=torch.tensor([[-1.0, -1, -1], [1, 1, 1]])), num_train_data=4,
                         metadata={}, device="cpu")
    model.load_state_dict({f"gauss_params.{k}": v.clone() for k, v in (state or splatfacto_state()).items()},
                          strict=False)
    model.train()
    return model


@pytest.fixture
def splatfacto_run(tmp_path):
    """A nerfstudio data folder (``transforms.json`` + 4 PNGs rendered from the synthetic state) and a splatfacto
    run's ``nerfstudio_models/step-000000100.ckpt`` holding that state. Returns ``(data, models_dir, state)``."""
    from stylize3d.nerfstudio.bridge import nerfstudio_cameras, render_splatfacto

    state = splatfacto_state()
    c2w = camera_to_worlds(4)
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    frames = []
    for i in range(len(c2w)):
        t = lambda v: torch.tensor([[v]], dtype=torch.float32)  # noqa: E731
        cams = nerfstudio_cameras(c2w[i:i + 1], t(FOCAL), t(FOCAL), t(WIDTH / 2), t(HEIGHT / 2),
                                  torch.tensor([[WIDTH]]), torch.tensor([[HEIGHT]]))
        with torch.no_grad():
            rgb = render_splatfacto(state, cams, torch.ones(3), sh_degree=3)["rgb"]
        Image.fromarray((rgb.numpy() * 255).round().astype(np.uint8)).save(data / "images" / f"frame_{i:05d}.png")
        matrix = torch.cat([c2w[i], torch.tensor([[0.0, 0.0, 0.0, 1.0]])]).tolist()
        frames.append({"file_path": f"images/frame_{i:05d}.png", "transform_matrix": matrix})
    meta = {"camera_model": "OPENCV", "fl_x": FOCAL, "fl_y": FOCAL, "cx": WIDTH / 2, "cy": HEIGHT / 2,
            "w": WIDTH, "h": HEIGHT, "k1": 0, "k2": 0, "p1": 0, "p2": 0, "frames": frames}
    (data / "transforms.json").write_text(json.dumps(meta))
    models = tmp_path / "run" / "nerfstudio_models"
    models.mkdir(parents=True)
    pipeline = {f"_model.gauss_params.{k}": v.clone() for k, v in state.items()}
    torch.save({"step": 100, "pipeline": pipeline, "optimizers": {}, "schedulers": {}, "scalers": {}},
               models / "step-000000100.ckpt")
    return data, models, state
