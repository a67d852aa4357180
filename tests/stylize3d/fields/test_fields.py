"""Grid radiance field: volume rendering against closed forms, finite-difference gradients, file round trip."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from core.errors import InputError
from stylize3d.cameras import Cameras, intrinsics_from_fov, look_at
from stylize3d.fields.bounds import box_from_cameras, visual_hull
from stylize3d.fields.grid import RadianceField, check_memory, new_field, upsample
from stylize3d.fields.io import load_field, save_field
from stylize3d.fields.render import Rays, _box_hits, camera_rays, packed_samples, render_field, render_rays


def _cube_field(res=(4, 5, 6), degree=0, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    field = new_field(-torch.ones(3), torch.ones(3), res, sh_degree=degree)
    field.density = torch.randn(field.density.shape, generator=g).to(dtype)
    field.colour = torch.randn(field.colour.shape, generator=g).to(dtype)
    field.box_min, field.box_max = field.box_min.to(dtype), field.box_max.to(dtype)
    return field


def test_constant_medium_matches_beer_lambert():
    field = new_field(-torch.ones(3), torch.ones(3), (3, 3, 3))
    field.density_shift = 0.0
    field.density.fill_(math.log(math.expm1(0.7)))  # sigma = 0.7 everywhere
    field.colour.fill_(math.log(0.2 / 0.8) / 0.28209479177387814)  # colour 0.2 everywhere
    rays = Rays(torch.tensor([[-3.0, 0.0, 0.0], [-3.0, 5.0, 0.0]]), torch.tensor([[1.0, 0, 0], [1.0, 0, 0]]))
    out = render_rays(field, rays, torch.tensor([1.0, 0.5, 0.0]), step=0.1, weight_threshold=0.0)
    opacity = 1 - math.exp(-0.7 * 2.0)  # 2 world units through the cube
    assert out["alpha"][0].item() == pytest.approx(opacity, abs=1e-5)
    assert out["rgb"][0].tolist() == pytest.approx([0.2 * opacity + (1 - opacity) * v for v in (1.0, 0.5, 0.0)],
                                                   abs=1e-5)
    expected_t = sum((2.05 + 0.1 * k) * math.exp(-0.07 * k) * (1 - math.exp(-0.07)) for k in range(20)) / opacity
    assert out["depth"][0].item() == pytest.approx(expected_t, abs=1e-4)
    assert out["alpha"][1].item() == 0 and out["rgb"][1].tolist() == [1.0, 0.5, 0.0]  # misses the box


def test_empty_occupancy_skips_samples():
    field = _cube_field()
    rays = Rays(torch.tensor([[-3.0, 0.1, 0.2]]), torch.tensor([[1.0, 0.05, 0.0]]))
    field.occupancy[:] = False
    out = render_rays(field, rays, torch.zeros(3))
    assert out["alpha"].item() == 0 and out["rgb"].abs().max() == 0


@pytest.mark.parametrize("degree", [0, 2])
def test_gradients_match_finite_differences(degree):
    field = _cube_field(res=(3, 3, 2), degree=degree, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    rays = Rays(torch.tensor([[-3.0, 0.1, 0.2], [0.3, -3.0, -0.4]], dtype=torch.float64),
                torch.tensor([[1.0, 0.05, 0.1], [0.1, 1.0, 0.2]], dtype=torch.float64))
    bg = torch.rand(3, generator=g, dtype=torch.float64, requires_grad=True)

    def fn(density, colour, background):
        f = RadianceField(density, colour, field.occupancy, field.box_min, field.box_max, field.density_shift)
        out = render_rays(f, rays, background, step=0.15, weight_threshold=0.0)
        return out["rgb"], out["alpha"], out["depth"]

    inputs = (field.density.clone().requires_grad_(True), field.colour.clone().requires_grad_(True), bg)
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, fast_mode=True)


def test_early_ray_termination_cuts_the_samples_behind_from_the_graph():
    """With autograd the samples behind transmittance ``t`` are dropped before the density is looked up: the
    colours equal a render without autograd (which shades the same samples), differ from shading every sample by
    less than ``t``, and the grid points only those samples touch get no gradient."""
    field = new_field(-torch.ones(3), torch.ones(3), (4, 4, 8))  # x has 8 grid points, 2/7 apart
    field.density_shift = 0.0
    field.density[..., :2] = 30.0  # an opaque wall at the entry (x < -0.7), thin fog behind it
    field.colour = torch.randn(field.colour.shape, generator=torch.Generator().manual_seed(2))
    field.density.requires_grad_(True)
    field.colour.requires_grad_(True)
    rays = Rays(torch.tensor([[-3.0, 0.1, -0.2], [-3.0, -0.3, 0.4]]),
                torch.tensor([[1.0, 0.02, 0.0], [1.0, 0.0, -0.03]]))
    bg = torch.tensor([0.2, 0.9, 0.4])
    out = render_rays(field, rays, bg, step=0.05, weight_threshold=0.0, transmittance_threshold=1e-2,
                      return_sigma=True)
    with torch.no_grad():
        plain = render_rays(field, rays, bg, step=0.05, weight_threshold=0.0, transmittance_threshold=1e-2)
        every = render_rays(field, rays, bg, step=0.05, weight_threshold=0.0, transmittance_threshold=0.0,
                            return_sigma=True)
    assert torch.allclose(out["rgb"], plain["rgb"], atol=1e-6) and torch.allclose(out["depth"], plain["depth"])
    assert (out["rgb"] - every["rgb"]).abs().max() < 1e-2
    assert 0 < out["sigma"].numel() < every["sigma"].numel() / 4  # the samples behind the wall are gone
    (out["rgb"] * torch.tensor([1.0, -2.0, 3.0])).sum().backward()
    assert field.density.grad[..., :2].abs().sum() > 0 and field.colour.grad[..., :2].abs().sum() > 0
    assert field.density.grad[..., 3:].abs().max() == 0 and field.colour.grad[..., 3:].abs().max() == 0


def test_a_shared_grid_lookup_gives_the_same_density_and_colour():
    field = _cube_field(res=(5, 6, 7), degree=1)
    pts = torch.rand(50, 3, generator=torch.Generator().manual_seed(4)) * 2.2 - 1.1
    dirs = torch.randn(50, 3, generator=torch.Generator().manual_seed(5))
    at = field.lookup(pts)
    rows = torch.tensor([3, 0, 41])
    assert torch.equal(field.sigma(at), field.sigma(pts))
    assert torch.equal(field.rgb(at, dirs), field.rgb(pts, dirs))
    assert torch.equal(field.sigma(at[rows]), field.sigma(pts[rows]))


def _ring(n=6, size=12):
    eyes = torch.stack([torch.tensor([3 * math.cos(a), 3 * math.sin(a), 1.0]) for a in torch.arange(n) * 2 * math.pi / n])
    K = intrinsics_from_fov(60.0, size, size)
    return Cameras(look_at(eyes, torch.zeros(3), torch.tensor([0.0, 0, 1])), K.repeat(n, 1, 1),
                   torch.full((n,), size), torch.full((n,), size))


def test_render_is_chunk_independent_and_rays_hit_pixel_centres():
    field = _cube_field(res=(6, 6, 6))
    cams = _ring(2)
    a = render_field(field, cams, 12, 10, chunk=7)
    b = render_field(field, cams, 12, 10, chunk=100000)
    assert a.rgb.shape == (2, 3, 10, 12) and a.depth.shape == (2, 1, 10, 12)
    assert torch.allclose(a.rgb, b.rgb, atol=1e-6) and torch.allclose(a.depth, b.depth, atol=1e-5)
    rays = camera_rays(cams[0], 12, 10)
    centre = rays.origins[0] + rays.dirs[5 * 12 + 6] * 1.0  # pixel (6, 5) centre at camera z = 1
    cam = cams.scaled_to(12, 10)
    p = cam.Ks[0] @ (cam.viewmats[0, :3, :3] @ centre + cam.viewmats[0, :3, 3])
    assert (p[:2] / p[2]).tolist() == pytest.approx([6.5, 5.5], abs=1e-4) and p[2].item() == pytest.approx(1.0)


def test_box_and_visual_hull_of_a_ball():
    cams = _ring(8, 24)
    lo, hi = box_from_cameras(cams)
    assert torch.allclose((lo + hi) / 2, torch.zeros(3), atol=1e-4)
    field = new_field(lo, hi, (24, 24, 24))
    # masks of a ball of radius 0.8 at the origin, from the exact projection
    rays = camera_rays(cams, 24, 24)
    oc = rays.origins
    d = F.normalize(rays.dirs, dim=-1)
    closest = (oc - (oc * d).sum(-1, keepdim=True) * d).norm(dim=-1)
    alphas = (closest < 0.8).float().view(8, 1, 24, 24)
    hull = visual_hull(field, cams, alphas)
    pts = field.voxel_centres()
    r = pts.norm(dim=-1)
    assert hull[r < 0.75].all()           # the ball survives
    ring = (r > 1.4) & (r < 1.9) & (pts[..., 2].abs() < 0.4)
    assert ring.sum() > 50 and not hull[ring].any()  # space around it, seen from the side, is carved


def test_upsample_keeps_the_field():
    field = _cube_field(res=(4, 4, 4))
    up = upsample(field, (7, 7, 7))
    pts = torch.rand(50, 3) * 1.8 - 0.9
    assert torch.allclose(field.sigma(pts), up.sigma(pts), rtol=0.3, atol=0.3)  # trilinear of trilinear: close
    assert up.resolution == (7, 7, 7) and up.occupancy.all()


def test_field_file_round_trip_and_refusals(tmp_path):
    field = _cube_field(degree=1)
    field.occupancy[0, 0, 0] = False
    field.background = (1.0, 1.0, 1.0)
    path = save_field(field, tmp_path / "f.safetensors")
    back = load_field(path)
    assert torch.equal(back.density, field.density) and torch.equal(back.colour, field.colour)
    assert torch.equal(back.occupancy, field.occupancy) and back.sh_degree == 1
    assert back.density_shift == field.density_shift and back.background == (1.0, 1.0, 1.0)
    raw = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_field(tmp_path / "cut.safetensors")
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta, tensors = json.loads(f.metadata()["stylize3d"]), {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(tmp_path / "v99.safetensors"), metadata={"stylize3d": json.dumps({**meta, "version": 99})})
    with pytest.raises(InputError, match="version 99 is not supported"):
        load_field(tmp_path / "v99.safetensors")
    save_file(tensors, str(tmp_path / "other.safetensors"))
    with pytest.raises(InputError, match="not a stylize3d radiance field"):
        load_field(tmp_path / "other.safetensors")


def test_memory_estimate_refuses_with_the_number():
    with pytest.raises(InputError, match=r"needs about [\d.]+ GiB .* available"):
        check_memory((4000, 4000, 4000), 4, torch.device("cpu"))
    assert check_memory((10, 10, 10), 4, torch.device("cpu")) == 1000 * 4 * 16 + 1000


def test_contraction_maps_unbounded_space_into_the_grid():
    field = new_field(-torch.ones(3), torch.ones(3), (9, 9, 9), contracted=True)
    pts = torch.tensor([[0.5, 0.0, 0.0], [3.0, 0.0, 0.0], [1e6, 1e6, 0.0]])
    g = field.to_grid(pts)
    assert g[0].tolist() == pytest.approx([0.25, 0.0, 0.0])  # inside: linear, half of the grid's [-2, 2]
    assert g[1, 0].item() == pytest.approx((2 - 1 / 3) / 2)  # outside: (2 - 1/|x|) x/|x|, halved
    assert g[2].abs().max().item() == pytest.approx(1.0, abs=1e-5)
    field.density.fill_(1.0)
    rays = Rays(torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 0.0]]))
    out = render_rays(field, rays, torch.zeros(3), weight_threshold=0.0)
    assert 0 < out["alpha"].item() <= 1 and out["depth"].item() > 0


@pytest.mark.parametrize("contracted", [False, True])
def test_packed_samples_equal_testing_every_sample(contracted):
    """The grouped occupancy test keeps exactly the samples a per-sample test keeps (in the same order)."""
    g = torch.Generator().manual_seed(3)
    field = new_field(torch.tensor([-1.0, -0.8, -0.5]), torch.tensor([1.0, 0.9, 0.6]), (9, 15, 17),
                      contracted=contracted)
    field.occupancy = torch.rand(field.resolution, generator=g) < 0.03  # scattered single voxels: the hard case
    origins = torch.nn.functional.normalize(torch.randn(300, 3, generator=g), dim=1) * 3
    rays = Rays(origins, torch.rand(300, 3, generator=g) * 1.6 - 0.8 - origins)  # towards points in the box
    step = 0.5 * field.voxel_size * (0.8 if contracted else 1.0)
    ray, t, delta = packed_samples(field, rays, step, torch.Generator().manual_seed(5))
    # reference: every sample of every ray in the box, tested one by one
    t_near, t_far = _box_hits(rays, field.box_min, field.box_max)
    dt = step / rays.dirs.norm(dim=-1)
    offset = torch.rand(300, generator=torch.Generator().manual_seed(5))
    k = torch.arange(int(((t_far - t_near).clamp_min(0) / dt).ceil().max()), dtype=torch.float32)
    t_all = t_near[:, None] + (k[None] + offset[:, None]) * dt[:, None]
    pts = rays.origins[:, None] + rays.dirs[:, None] * t_all[..., None]
    keep = (t_all < t_far[:, None]) & field.occupied(pts.view(-1, 3)).view(t_all.shape)
    ref_ray, ref_k = keep.nonzero().unbind(1)
    assert keep.sum() > 100
    inner = t <= torch.maximum(t_far, t_near)[ray] if contracted else torch.ones_like(t, dtype=torch.bool)
    if contracted:  # the outer samples follow each ray's inner ones
        assert torch.equal(ray, torch.sort(ray, stable=True).values) and (~inner).sum() > 0
    assert torch.equal(ray[inner], ref_ray) and torch.equal(t[inner], t_all[ref_ray, ref_k])
    assert torch.all(delta[inner] == step)


@pytest.mark.parametrize("res", [(4, 5, 6), (2, 3, 2), (1, 4, 5)])
def test_corner_gather_equals_grid_sample_and_its_gradient(res):
    from stylize3d.fields.grid import _trilinear

    g = torch.Generator().manual_seed(7)
    grid = torch.randn(1, 3, *res, dtype=torch.float64, generator=g, requires_grad=True)
    coords = torch.rand(60, 3, dtype=torch.float64, generator=g) * 2.4 - 1.2  # some outside: border values
    weights = torch.randn(60, 3, dtype=torch.float64, generator=g)
    ours = _trilinear(grid, coords)
    ref = F.grid_sample(grid, coords.view(1, 1, 1, -1, 3), mode="bilinear", padding_mode="border",
                        align_corners=True).view(3, -1).T
    (grad_ours,) = torch.autograd.grad((ours * weights).sum(), grid)
    (grad_ref,) = torch.autograd.grad((ref * weights).sum(), grid)
    assert torch.allclose(ours, ref, atol=1e-12) and torch.allclose(grad_ours, grad_ref, atol=1e-12)


def test_the_cuda_lookup_path_selects_rows_and_samples_like_the_cpu_path():
    """The grid_sample lookup that CUDA takes (built here on the CPU) keeps the same rows and gives the same
    samples as the corner lookup, so the shared lookup's row selection is tested off CUDA too."""
    from stylize3d.fields.grid import _sample, grid_lookup

    g = torch.Generator().manual_seed(3)
    grid = torch.randn(1, 4, 5, 6, 7, dtype=torch.float64, generator=g)
    coords = torch.rand(50, 3, dtype=torch.float64, generator=g) * 2.2 - 1.1
    rows = torch.tensor([3, 0, 49, 17, 17])
    cpu, cuda = grid_lookup(grid.shape[2:], coords, cuda=False), grid_lookup(grid.shape[2:], coords, cuda=True)
    assert cuda.index is None and torch.equal(cuda[rows].coords, coords[rows])
    assert torch.allclose(_sample(grid, cuda[rows]), _sample(grid, cpu[rows]), atol=1e-12)
