"""Field export: marching-cubes mesh of a known sphere, splats that render like the field."""

import math

import pytest
import torch
import trimesh

from core.errors import InputError
from core.metrics import psnr
from stylize3d.fields.export import export_field, field_to_mesh, field_to_splats
from stylize3d.fields.grid import new_field, world_per_grid
from stylize3d.fields.render import render_field
from stylize3d.sh import SH_C0
from stylize3d.splats.ply import read_ply
from stylize3d.splats.render import render_all
from tests.stylize3d.conftest import ring_cameras

RADIUS = 0.6


def _sphere_field(res=24, sharpness=6.0):
    """Voxel opacity exactly 0.5 on the sphere |x| = RADIUS, rising inside; colour varying with x."""
    field = new_field(-torch.ones(3), torch.ones(3), (res, res, res))
    field.density_shift = 0.0
    pts = field.voxel_centres()
    r = pts.norm(dim=-1)
    voxel = field.voxel_size * world_per_grid(field)
    sigma = math.log(2) / voxel * torch.exp(sharpness * (RADIUS - r) / voxel).clamp(max=1e3)
    field.density = torch.where(sigma > 20, sigma, torch.log(torch.expm1(sigma.clamp_min(1e-8))))[None, None]
    colour = torch.stack([0.2 + 0.6 * (pts[..., 0] + 1) / 2, 0.5 + 0 * r, 0.8 - 0.6 * (pts[..., 2] + 1) / 2], dim=0)
    field.colour = (torch.logit(colour) / SH_C0)[None]
    field.background = (1.0, 1.0, 1.0)
    return field


def _views(n=4, size=32):
    return ring_cameras(n, size, radius=2.6, height=1.0, step=1.3, fov=50.0)


def test_sphere_mesh_has_the_right_radius_and_colours(tmp_path):
    field = _sphere_field()
    mesh = field_to_mesh(field)
    radii = torch.from_numpy(mesh.vertices).norm(dim=-1)
    voxel = 2 / 23
    assert abs(float(radii.mean()) - RADIUS) < 0.15 * voxel and float(radii.std()) < 0.1 * voxel
    assert mesh.is_watertight and mesh.volume > 0  # closed, faces wound outwards
    assert abs(mesh.volume - 4 / 3 * math.pi * RADIUS ** 3) / (4 / 3 * math.pi * RADIUS ** 3) < 0.03
    red = mesh.visual.vertex_colors[:, 0] / 255
    assert float(torch.corrcoef(torch.stack([torch.from_numpy(red).double(),
                                             torch.from_numpy(mesh.vertices[:, 0]).double()]))[0, 1]) > 0.99
    for suffix in (".glb", ".obj", ".ply"):
        info = export_field(field, tmp_path / f"m{suffix}")
        back = trimesh.load(tmp_path / f"m{suffix}", force="mesh")
        assert len(back.faces) == info["faces"]


def test_exported_splats_render_close_to_the_field(tmp_path):
    field = _sphere_field()
    export_field(field, tmp_path / "s.ply", fmt="splats")
    scene = read_ply(tmp_path / "s.ply")
    assert scene.num_gaussians == len(field_to_splats(field).means)
    cams = _views()
    a = render_field(field, cams, 32, 32).rgb.clamp(0, 1)
    b = render_all(scene, cams, 32, 32, background=(1.0, 1.0, 1.0), backend="torch").rgb
    assert psnr(a, b) >= 20.0


def test_export_refusals(tmp_path):
    field = _sphere_field(res=8)
    with pytest.raises(InputError, match="must end in one of"):
        export_field(field, tmp_path / "x.stl")
    with pytest.raises(InputError, match="does not end in .ply"):
        export_field(field, tmp_path / "x.glb", fmt="splats")
    field.density.fill_(-30.0)
    with pytest.raises(InputError, match="never reaches"):
        export_field(field, tmp_path / "x.obj")
    assert not list(tmp_path.iterdir())


def test_export_command_and_scene_dispatch(tmp_path, capsys):
    from core.cli import main
    from stylize3d.fields.io import save_field
    from stylize3d.representations import load_scene, render_scene_all

    field_path = save_field(_sphere_field(res=12), tmp_path / "f.safetensors")
    assert main(["export", str(field_path), "-o", str(tmp_path / "m.obj")]) == 0
    assert len(trimesh.load(tmp_path / "m.obj", force="mesh").faces) > 100
    assert main(["export", str(field_path), "-o", str(tmp_path / "s.ply"), "--format", "splats"]) == 0
    (splats, _), (field, _) = load_scene(tmp_path / "s.ply"), load_scene(field_path)
    a, b = render_scene_all(field, _views(1), 24, 24), render_scene_all(splats, _views(1), 24, 24, backend="torch")
    assert a.rgb.shape == b.rgb.shape == (1, 3, 24, 24) and psnr(a.rgb, b.rgb) > 18
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    assert main(["export", str(tmp_path / "bad.safetensors"), "-o", str(tmp_path / "x.obj")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not (tmp_path / "x.obj").exists()
