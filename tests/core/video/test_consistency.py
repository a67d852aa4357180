"""The consistency module with a toy flickering stylizer and injected motion (no VGG), plus the Gatys adapter."""

import pytest
import torch

from core.video.consistency import TemporalConsistency, TemporalSettings, temporal_loss
from core.video.metrics import warping_errors
from core.video.warp import backward_warp


class FlickerStylizer:
    """'Style' = the content plus a random colour offset drawn per call (so plain per-frame output flickers).

    With ``terms`` it minimises ``(255·(x − target))²`` mean + extra terms by Adam from ``init``.
    """

    def __init__(self):
        self.generator = torch.Generator().manual_seed(0)
        self.calls = []

    def __call__(self, content, init=None, terms=(), steps=None):
        offset = 0.3 * torch.rand(1, 3, 1, 1, generator=self.generator)
        target = (content + offset).clamp(0, 1)
        self.calls.append({"init": None if init is None else init.clone(), "extra": terms or None, "steps": steps})
        if not terms:
            return target
        x = (content if init is None else init).clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02)
        for _ in range(steps or 150):
            opt.zero_grad()
            loss = (255.0 * (x - target)).square().mean() + sum(v for term in terms for v in term(x, None).values())
            loss.backward()
            opt.step()
        return x.detach()


class FixedMotion:
    """A motion linker with a known constant flow and full trust; records which earlier frames it saw."""

    def __init__(self, dx=0.0):
        self.dx = dx
        self.seen = []

    def __call__(self, current, earlier):
        self.seen.append((float(current.mean()), float(earlier.mean())))
        flow = torch.zeros(1, 2, *current.shape[-2:])
        flow[:, 0] = self.dx
        return flow, torch.ones(1, 1, *current.shape[-2:])


def still_frames(n, value=0.4, size=(16, 16)):
    return [torch.full((1, 3, *size), value) for _ in range(n)]


def test_temporal_loss_known_value_and_trust():
    image, warped = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 0.4)
    trust = torch.ones(1, 1, 4, 4)
    assert float(temporal_loss(image, [warped], [trust])) == pytest.approx(255**2 * 0.01, rel=1e-5)
    trust[..., :2] = 0
    assert float(temporal_loss(image, [warped, warped], [trust, trust])) == pytest.approx(255**2 * 0.01, rel=1e-5)


def test_blend_mode_fuses_with_the_warped_previous_output():
    stylizer = FlickerStylizer()
    settings = TemporalSettings(mode="blend", blend_strength=0.5)
    tc = TemporalConsistency(stylizer, settings, linker=FixedMotion())
    first, second = (tc.step(f) for f in still_frames(2))
    offset = 0.3 * torch.rand(2, 3, 1, 1, generator=torch.Generator().manual_seed(0))
    fresh = (0.4 + offset[1:2]).expand(1, 3, 16, 16)
    assert torch.allclose(second, 0.5 * fresh + 0.5 * first, atol=1e-6)


def test_optimize_mode_starts_from_the_warped_previous_frame_and_uses_neighbours():
    motion = FixedMotion(dx=2.0)
    stylizer = FlickerStylizer()
    tc = TemporalConsistency(stylizer, TemporalSettings(mode="optimize", steps=5, temporal_weight=1.0), linker=motion)
    frames = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    outputs = list(tc.run(frames))
    # frame 5 is linked to frames 4, 3 and 1 (k = 1, 2, 4), compared on the original frames
    means = [float(f.mean()) for f in frames]
    assert [pair[1] for pair in motion.seen[-3:]] == [means[4], means[3], means[1]]
    assert stylizer.calls[0]["init"] is None and stylizer.calls[0]["extra"] is None
    assert torch.allclose(stylizer.calls[3]["init"], backward_warp(outputs[2], motion(frames[3], frames[2])[0]))
    assert len(tc._outputs) == 4  # only max(neighbours) frames are held


def test_optimize_removes_flicker_on_a_still_scene():
    frames = still_frames(6)
    none = list(TemporalConsistency(FlickerStylizer(), TemporalSettings(mode="none")).run(frames))
    optimized = list(TemporalConsistency(FlickerStylizer(), TemporalSettings(mode="optimize", temporal_weight=10.0),
                                         linker=FixedMotion()).run(frames))
    error_none = warping_errors(frames, none, ranges=(1,))[1]["mse"]
    error_optimized = warping_errors(frames, optimized, ranges=(1,))[1]["mse"]
    assert error_optimized < 0.1 * error_none


def test_remembered_frames_resume_exactly():
    frames = [torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(i)) for i in range(5)]
    settings = TemporalSettings(mode="blend", blend_strength=0.6)
    straight = list(TemporalConsistency(FlickerStylizer(), settings, linker=FixedMotion(1.0)).run(frames))
    resumed_stylizer = FlickerStylizer()
    for _ in range(3):  # the interrupted run drew three offsets
        resumed_stylizer(frames[0])
    resumed = TemporalConsistency(resumed_stylizer, settings, linker=FixedMotion(1.0))
    for original, output in zip(frames[:3], straight[:3]):
        resumed.remember(original, output)
    rest = list(resumed.run(frames[3:]))
    assert all(torch.allclose(a, b) for a, b in zip(rest, straight[3:]))


def test_settings_are_validated():
    with pytest.raises(ValueError, match="mode"):
        TemporalSettings(mode="magic").validate()
    with pytest.raises(ValueError, match="including 1"):
        TemporalSettings(neighbours=(2, 4)).validate()


def test_blend_refinement_starts_from_the_fused_frame_with_the_temporal_loss():
    stylizer = FlickerStylizer()
    tc = TemporalConsistency(stylizer, TemporalSettings(mode="blend", blend_strength=1.0, refine_steps=3),
                             linker=FixedMotion())
    first = tc.step(still_frames(1)[0])
    tc.step(still_frames(1)[0])
    refine = stylizer.calls[-1]
    assert refine["steps"] == 3 and torch.equal(refine["init"], first)  # strength 1 on a still scene: the fused frame is the previous output
    assert float(refine["extra"][0](first, None)["temporal"]) == 0.0
