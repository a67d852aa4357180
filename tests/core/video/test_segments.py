"""Long video in parallel segments: the plan, scene cuts, the seam blend, and ``stylize video --segments``."""

import argparse
import json

import av
import pytest
import torch

from core.batch.state import job_hash, stamp_report
from core.cli import build_parser, main
from core.video.segmented import segment_jobs, segments_dir
from core.video.segments import (Segment, handover_length, join_frames, keep_contrast, local_stats, plan_segments,
                                 scene_cuts)


def test_even_plan_overlaps_each_later_segment_by_k_frames():
    assert plan_segments(96, 4, 4) == [Segment(0, 0, 24, 0), Segment(1, 20, 28, 4), Segment(2, 44, 28, 4),
                                       Segment(3, 68, 28, 4)]
    assert plan_segments(10, 1, 4) == [Segment(0, 0, 10, 0)]


def test_a_boundary_near_a_scene_cut_moves_onto_it_without_overlap():
    plan = plan_segments(96, 4, 4, cuts=[50, 90])  # 50 is within 96/16 = 6 frames of 48; 90 is near no boundary
    assert plan == [Segment(0, 0, 24, 0), Segment(1, 20, 30, 4), Segment(2, 50, 22, 0), Segment(3, 68, 28, 4)]


def test_overlap_never_reaches_past_the_previous_segment_and_bad_plans_are_refused():
    plan = plan_segments(5, 4, 4)
    assert [(s.first, s.count, s.lead) for s in plan] == [(0, 1, 0), (0, 2, 1), (1, 3, 1), (2, 3, 2)]
    for t in range(5):  # at most two segments hold any frame
        assert sum(s.first <= t <= s.last for s in plan) <= 2
    with pytest.raises(ValueError, match="3 frames cannot make 4 segments"):
        plan_segments(3, 4, 1)
    with pytest.raises(ValueError, match="overlap >= 0"):
        plan_segments(10, 2, -1)


def _textured(seed: int, shift: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=generator), size=(48, 64),
                                           mode="bilinear", align_corners=False)
    return torch.roll(base, shifts=shift, dims=-1)


def test_scene_cuts_find_the_shot_change_and_not_the_motion():
    frames = [_textured(0, shift=t) for t in range(6)] + [_textured(1, shift=t) for t in range(5)]
    assert scene_cuts(iter(frames)) == (11, [6])
    assert scene_cuts(iter(frames[:6])) == (6, [])


@pytest.mark.parametrize("seam,expected", [
    (3, [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0]),  # the overlap alone: a cross-fade in equal steps
    (6, [0.0, 1 / 7, 2 / 7, 3 / 7, 4 / 7, 5 / 7, 6 / 7, 1.0]),  # then carried along the (zero) flow, same steps
])
def test_join_hands_over_in_equal_steps_over_the_seam(seam, expected):
    """A = 0 and B = 1 over static originals (zero flow, full trust): the earlier look's share falls linearly."""
    segments = plan_segments(8, 2, 3)
    assert segments == [Segment(0, 0, 4, 0), Segment(1, 1, 7, 3)]
    still = _textured(2)
    a, b = torch.zeros(1, 3, 48, 64), torch.ones(1, 3, 48, 64)
    joined = list(join_frames(segments, [[a] * 4, [b] * 7], [still] * 8, seam=seam))
    assert [float(frame.mean()) for frame in joined] == pytest.approx(expected, abs=2e-3)


def test_a_hand_over_ends_before_the_next_overlap_and_none_follows_a_scene_cut():
    segments = plan_segments(96, 4, 4, cuts=[50])
    assert [handover_length(segments, i, 16) for i in range(4)] == [0, 16, 0, 16]
    assert handover_length(plan_segments(20, 4, 2), 1, 16) == 5  # 7 frames, the next segment's 2 overlap them


def test_a_mix_of_two_textures_gets_contrast_back_but_never_loses_any():
    a, b = _textured(4), _textured(5)
    a, b = (a + 0.3 * (torch.rand_like(a) - 0.5)).clamp(0, 1), (b + 0.3 * (torch.rand_like(b) - 0.5)).clamp(0, 1)
    mixed = 0.5 * (a + b)
    target = local_stats(b)[1]
    restored = keep_contrast(mixed, target)
    before, after = float(local_stats(mixed)[1].mean()), float(local_stats(restored)[1].mean())
    assert before < 0.8 * float(target.mean()) and before * 1.1 < after <= float(target.mean())
    assert torch.allclose(local_stats(restored)[0], local_stats(mixed)[0], atol=0.02)  # brightness kept
    assert torch.allclose(keep_contrast(b, 0.5 * target), b, atol=1e-6)  # contrast above the reference stays


def test_join_of_identical_parts_is_the_part_itself():
    segments = plan_segments(6, 2, 2)
    frames = [_textured(3)] * 6
    joined = list(join_frames(segments, [frames[:3], frames[1:]], frames))
    assert all(torch.allclose(y, x, atol=1e-6) for y, x in zip(joined, frames))


def test_segment_jobs_rerun_the_users_command_with_the_segments_range(tmp_path):
    output = tmp_path / "out.mp4"
    args = argparse.Namespace(start=1.0, _argv=["video", "in.mp4", "s.png", "-o", str(output), "--segments", "3",
                                                "--steps", "5"])
    segments = plan_segments(30, 3, 2)
    jobs = segment_jobs(args, output, segments, fps=10.0)
    parser = build_parser(["video"])
    parsed = [parser.parse_args(job.argv()) for job in jobs]
    assert [(p.start, p.max_frames, p.segments, p.steps) for p in parsed] == [(1.0, 10, 1, 5), (1.8, 12, 1, 5),
                                                                              (2.8, 12, 1, 5)]
    assert parsed[1].output == str(segments_dir(output) / "part_002") and parsed[1].input == "in.mp4"
    assert parsed[1].report == str(segments_dir(output) / "part_002.json")


def _frame_count(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_cli_segments_a_clip_in_parallel_and_joins_every_frame(tmp_path, clip, style_png, capsys):
    out, report = tmp_path / "out.mp4", tmp_path / "out.json"
    argv = ["video", str(clip), str(style_png), "-o", str(out), "--size", "32", "--consistency", "blend",
            "--steps", "1", "--segments", "2", "--overlap", "2", "--workers", "2", "--quiet", "--report", str(report)]
    assert main(argv) == 0
    assert _frame_count(out) == 20 and not segments_dir(out).exists()
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["segments"] == [{"first": 0, "frames": 10, "overlap": 0}, {"first": 8, "frames": 12, "overlap": 2}]
    assert [j["status"] for j in metrics["jobs"]] == ["done", "done"]

    assert main(argv[:-2] + ["--segments", "50"]) == 2
    assert "--segments 50: 20 frames cannot make 50 segments" in capsys.readouterr().err


def test_resume_keeps_a_finished_segment_and_runs_only_the_rest(tmp_path, clip, style_png):
    out = tmp_path / "out.mp4"
    argv = ["video", str(clip), str(style_png), "-o", str(out), "--size", "32", "--consistency", "blend",
            "--steps", "1", "--segments", "2", "--overlap", "2", "--quiet", "--resume", "--report",
            str(tmp_path / "out.json")]
    args = build_parser(["video"]).parse_args(argv)
    args._argv = argv
    first, _ = segment_jobs(args, out, plan_segments(20, 2, 2), fps=10.0)
    assert main(first.argv()) == 0  # segment 1 finished by an earlier, interrupted run
    stamp_report(first, job_hash(first), 1)

    assert main(argv) == 0
    jobs = json.loads((tmp_path / "out.json").read_text())["metrics"]["jobs"]
    assert [(j["status"], j["attempts"]) for j in jobs] == [("skipped", 0), ("done", 1)]
    assert _frame_count(out) == 20 and not segments_dir(out).exists()
