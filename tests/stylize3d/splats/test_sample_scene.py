"""The bundled sample scene: size limits, geometry of the generated splats, and that renders show a scene."""

from pathlib import Path

import torch

from stylize3d.datasets.transforms_json import load_transforms
from stylize3d.rotations import quat_to_rotmat
from stylize3d.splats.ply import read_ply
from stylize3d.splats.render import render
from stylize3d.splats.sample_scene import build_scene

SCENES = Path(__file__).resolve().parents[3] / "scenes" / "splats"


def test_generated_splats_lie_flat_on_their_surfaces():
    scene = build_scene(seed=1, density=0.05)
    assert torch.allclose(scene.quats.norm(dim=1), torch.ones(scene.num_gaussians), atol=1e-5)
    ground = scene.means[:, 2].abs() < 1e-6  # the top face of the ground slab is z = 0
    assert int(ground.sum()) > 100
    normal_axis = quat_to_rotmat(scene.quats)[:, :, 2]  # local z, the thin axis, is the surface normal
    assert torch.allclose(normal_axis[ground].abs()[:, 2], torch.ones(int(ground.sum())), atol=1e-5)
    scales = torch.exp(scene.log_scales)
    assert torch.allclose(scales[:, 2] / scales[:, 0], torch.full((scene.num_gaussians,), 0.08), rtol=1e-4)
    colour = 0.5 + 0.28209479 * scene.sh[:, 0]
    assert colour.min() >= 0 and colour.max() <= 1


def test_bundled_scene_limits_and_cameras():
    ply = SCENES / "sample_scene.ply"
    assert ply.stat().st_size <= 5 * 1024 * 1024
    scene = read_ply(ply)
    assert 30_000 <= scene.num_gaussians <= 60_000
    cams = load_transforms(SCENES / "transforms.json")
    assert len(cams) == 32
    # every camera looks at the scene: the world origin projects inside the image, in front of the camera
    cam = cams.viewmats[:, :3, 3]
    pix = torch.einsum("bij,bj->bi", cams.Ks, cam)
    assert (cam[:, 2] > 0).all()
    assert ((pix[:, 0] / pix[:, 2] - 128).abs() < 100).all() and ((pix[:, 1] / pix[:, 2] - 128).abs() < 100).all()


def test_bundled_scene_renders_as_a_scene():
    scene = read_ply(SCENES / "sample_scene.ply")
    cams = load_transforms(SCENES / "transforms.json")[[0]]
    out = render(scene, cams, 64, 64, background=(1.0, 1.0, 1.0), backend="torch")
    assert 0.4 < float(out.alpha.mean()) < 0.95  # ground and objects cover much, but not all, of the view
    rgb = out.rgb[0].reshape(3, -1).T[out.alpha[0, 0].flatten() > 0.9]
    saturated = (rgb.max(dim=1).values - rgb.min(dim=1).values) > 0.35
    hues = torch.argmax(rgb[saturated], dim=1).bincount(minlength=3)
    assert (hues > 10).all()  # red/yellow, green and blue objects all visible
    depth = out.depth[0, 0][out.alpha[0, 0] > 0.9]
    assert depth.max() - depth.min() > 2.0  # a ground receding in depth, not a flat card
