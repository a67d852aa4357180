"""Quaternion ↔ matrix conversions and slerp of stylize3d.rotations."""

import math

import torch

from stylize3d.rotations import quat_to_rotmat, rotmat_to_quat, slerp


def _random_quats(n: int, seed: int = 0) -> torch.Tensor:
    """``n,4`` float64 unit quaternions with ``w >= 0.1`` (rotations well away from 180°)."""
    q = torch.nn.functional.normalize(torch.randn(4 * n, 4, generator=torch.Generator().manual_seed(seed),
                                                  dtype=torch.float64), dim=1)
    q = q * torch.sign(q[:, :1])
    return q[q[:, 0] >= 0.1][:n]


def test_matrices_are_rotations():
    R = quat_to_rotmat(_random_quats(256) * 3.0)  # any length: normalised inside
    eye = torch.eye(3, dtype=torch.float64).expand_as(R)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(len(R), dtype=torch.float64), atol=1e-12)


def test_round_trip_is_sign_canonical():
    q = _random_quats(256)
    back = rotmat_to_quat(quat_to_rotmat(q))
    assert back.dtype == torch.float64 and (back[:, 0] >= 0).all()
    assert torch.allclose(back, q, atol=1e-10)
    assert torch.allclose(rotmat_to_quat(quat_to_rotmat(-q)), q, atol=1e-10)  # -q is the same rotation


def test_ninety_degrees_about_z():
    half = math.sqrt(0.5)
    q = torch.tensor([half, 0.0, 0.0, half], dtype=torch.float64)
    R = quat_to_rotmat(q)  # unbatched: ...,4 → ...,3,3
    expected = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    assert torch.allclose(R, expected, atol=1e-15)
    assert torch.allclose(R @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
                          torch.tensor([0.0, 1, 0], dtype=torch.float64), atol=1e-15)  # x → y
    assert torch.allclose(rotmat_to_quat(expected), q, atol=1e-15)
    assert torch.equal(rotmat_to_quat(torch.eye(3)), torch.tensor([1.0, 0, 0, 0], dtype=torch.float64))


def test_slerp_endpoints_and_midpoint():
    q0 = torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64)
    q1 = rotmat_to_quat(quat_to_rotmat(torch.tensor([[math.cos(0.6), 0, 0, math.sin(0.6)]], dtype=torch.float64)))
    t = torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64)
    out = slerp(q0, q1, t)
    assert torch.allclose(out[0], q0[0], atol=1e-12) and torch.allclose(out[2], q1[0], atol=1e-12)
    mid = torch.tensor([math.cos(0.3), 0, 0, math.sin(0.3)], dtype=torch.float64)  # half the angle about z
    assert torch.allclose(out[1], mid, atol=1e-12)
    assert torch.allclose(out.norm(dim=1), torch.ones(3, dtype=torch.float64), atol=1e-12)


def test_slerp_takes_the_shorter_arc_and_blends_equal_rotations():
    q0 = _random_quats(8, seed=1)
    half = torch.full((8, 1), 0.5, dtype=torch.float64)
    assert torch.allclose(slerp(q0, -q0, half), q0, atol=1e-12)  # -q0 is q0's rotation: nothing to travel
    q1 = _random_quats(8, seed=2)
    assert torch.allclose(quat_to_rotmat(slerp(q0, -q1, half)), quat_to_rotmat(slerp(q0, q1, half)), atol=1e-12)


def test_quat_to_rotmat_gradients():
    q = _random_quats(4).requires_grad_(True)
    assert torch.autograd.gradcheck(quat_to_rotmat, (q,))
