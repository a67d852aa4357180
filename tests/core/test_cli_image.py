"""``stylize image`` and ``stylize metrics`` through the CLI entry point (in-process, tiny sizes)."""

import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from core.cli import main
from core.io import image_files
from core.nn.vgg import VGG19Encoder

TINY = ["--size", "32", "--steps", "2", "--quiet"]


def _one_line_error(capsys, code, expect):
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert expect in err, err


def test_image_writes_output_and_report(tmp_path, content_png, style_png, capsys):
    out = tmp_path / "new" / "folder" / "out.png"
    code = main(["image", str(content_png), str(style_png), "-o", str(out), *TINY, "--report", str(tmp_path / "r.json")])
    assert code == 0 and out.exists()
    assert Image.open(out).size == (32, 23)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["command"] == "image" and report["device"]["type"] == "cpu"
    assert report["timings"]["total_s"] > 0 and report["timings"]["per_step_s"] > 0
    m = report["metrics"]
    assert m["style_loss_final"] < m["style_loss_initial"] and m["content_loss_final"] >= 0
    assert report["sizes"]["output"] == {"width": 32, "height": 23}
    assert {"python", "torch", "toolkit"} <= set(report["versions"])
    assert not list(out.parent.glob(".*"))  # no temporary or checkpoint file left


def test_two_styles_with_blend_and_options(tmp_path, content_png, style_png):
    out = tmp_path / "o.jpg"
    Image.new("L", (56, 40), 255).save(tmp_path / "mask.png")
    code = main(["image", str(content_png), str(style_png), str(content_png), "-o", str(out), *TINY,
                 "--blend", "0.7", "0.3", "--preserve-color", "--mask", str(tmp_path / "mask.png"),
                 "--style-scale", "0.5", "--init", "noise", "--optimizer", "adam", "--tv-weight", "1"])
    assert code == 0 and out.exists()


@pytest.mark.parametrize("case,expect", [
    ("missing", "not found"), ("directory", "directory"), ("text", "not an image"), ("truncated", "truncated"),
    ("tiny", "1x1"), ("same_output", "also an input"), ("method", "unknown method"), ("device", "device"),
    ("blend", "one weight per style"), ("extension", "must end in"),
])
def test_bad_input_one_line_exit_2(tmp_path, content_png, style_png, capsys, case, expect):
    content, out = str(content_png), str(tmp_path / "out.png")
    extra = []
    if case == "missing":
        content = str(tmp_path / "nope.png")
    elif case == "directory":
        content = str(tmp_path)
    elif case == "text":
        content = str(tmp_path / "t.png")
        (tmp_path / "t.png").write_text("not an image")
    elif case == "truncated":
        Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "full.jpg")
        content = str(tmp_path / "cut.jpg")
        (tmp_path / "cut.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:300])
    elif case == "tiny":
        content = str(tmp_path / "one.png")
        Image.new("RGB", (1, 1)).save(content)
    elif case == "same_output":
        out = str(style_png)
    elif case == "method":
        extra = ["--method", "picasso"]
    elif case == "device":
        extra = ["--device", "tpu"]
    elif case == "blend":
        extra = ["--blend", "1", "2"]
    elif case == "extension":
        out = str(tmp_path / "out.txt")
    code = main(["image", content, str(style_png), "-o", out, *TINY, *extra])
    _one_line_error(capsys, code, expect)
    assert not (tmp_path / "out.png").exists()


def test_cuda_requested_without_cuda(tmp_path, content_png, style_png, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["image", str(content_png), str(style_png), "-o", str(tmp_path / "o.png"), *TINY, "--device", "cuda"])
    _one_line_error(capsys, code, "CUDA is not available")


def test_huge_image_suggests_size(tmp_path, content_png, style_png, capsys, monkeypatch):
    monkeypatch.setattr(image_files, "MAX_WORKING_PIXELS", 500)
    code = main(["image", str(content_png), str(style_png), "-o", str(tmp_path / "o.png"), "--size", "64", "--steps", "1"])
    _one_line_error(capsys, code, "--size")


def test_usage_error_is_one_line_exit_2():
    proc = subprocess.run([sys.executable, "-m", "core.cli", "image", "a.png", "b.png", "--init", "zebra", "-o", "x.png"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "zebra" in proc.stderr


def test_ctrl_c_writes_best_so_far_then_resume_finishes(tmp_path, content_png, style_png, capsys, monkeypatch):
    out = tmp_path / "o.png"
    original_forward = VGG19Encoder.forward
    calls = {"n": 0}

    def flaky_forward(self, image, layers):
        if image.requires_grad:
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
        return original_forward(self, image, layers)

    monkeypatch.setattr(VGG19Encoder, "forward", flaky_forward)
    args = ["image", str(content_png), str(style_png), "-o", str(out), "--size", "32", "--steps", "6", "--quiet"]
    assert main(args + ["--report", str(tmp_path / "first.json")]) == 130
    assert out.exists() and "interrupted" in capsys.readouterr().err
    assert (tmp_path / ".o.png.ckpt").exists()
    monkeypatch.setattr(VGG19Encoder, "forward", original_forward)
    assert main(args + ["--resume", "--report", str(tmp_path / "r.json")]) == 0
    first = json.loads((tmp_path / "first.json").read_text())
    assert first["metrics"]["interrupted"] is True
    assert first["timings"]["steps"] + json.loads((tmp_path / "r.json").read_text())["timings"]["steps"] == 6
    assert not (tmp_path / ".o.png.ckpt").exists()


@pytest.mark.parametrize("signame, ignore_sigint", [("SIGTERM", False), ("SIGINT", True)])
def test_sigterm_stops_like_ctrl_c_and_keeps_the_best_result(tmp_path, content_png, style_png, signame, ignore_sigint):
    """``kill``/``timeout`` send SIGTERM: the run must stop as on Ctrl-C (best image written, checkpoint kept).
    Ctrl-C works too where SIGINT was inherited as ignored (a job started with ``&`` by a non-interactive shell)."""
    import signal
    import time

    out = tmp_path / "o.png"
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "image", str(content_png), str(style_png), "-o", str(out),
                             "--size", "32", "--steps", "1000000", "--optimizer", "adam", "--quiet", "--device", "cpu"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=ignore)
    checkpoint = tmp_path / ".o.png.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the first checkpoint (step 25) proves the optimisation loop is running
    assert checkpoint.exists(), "the run never reached its first checkpoint"
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; wrote the best result so far" in err and "Traceback" not in err
    assert Image.open(out).size == (32, 23) and checkpoint.exists()


def test_sigterm_handler_is_scoped_to_the_command():
    import os
    import signal
    import time

    from core.cli import terminate_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts the sleep at once
    assert signal.getsignal(signal.SIGTERM) is before


def test_metrics_json(tmp_path, content_png, style_png, capsys):
    code = main(["metrics", str(content_png), "--content", str(content_png), "--style", str(content_png), "--size", "32"])
    assert code == 0
    values = json.loads(capsys.readouterr().out)
    assert values["style_distance"] == pytest.approx(0.0, abs=1e-6)
    assert values["content_distance"] == pytest.approx(0.0, abs=1e-6)
    assert values["ssim"] == pytest.approx(1.0, abs=1e-9)
    code = main(["metrics", str(content_png), "--content", str(content_png), "--style", str(style_png), "--size", "32"])
    assert json.loads(capsys.readouterr().out)["style_distance"] > 0


def test_help_lists_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["image", "--help"])
    text = capsys.readouterr().out
    for option in ("--size", "--steps", "--style-weight", "--blend", "--mask", "--style-scale", "--init", "--optimizer",
                   "--seed", "--device", "--report", "--preserve-color"):
        assert option in text
    assert "(default: 512)" in text


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P", "CMYK"])
def test_unusual_image_modes_are_converted_through_the_cli(tmp_path, style_png, mode):
    src = Image.open(style_png)
    if mode == "I;16":
        import numpy as np
        src = Image.fromarray((np.asarray(src.convert("L"), dtype=np.uint16) * 257))
    else:
        src = src.convert(mode)
    path = tmp_path / ("in.tif" if mode == "CMYK" else "in.png")
    src.save(path)
    out = tmp_path / "o.png"
    assert main(["image", str(path), str(style_png), "-o", str(out), "--size", "24", "--steps", "1", "--quiet"]) == 0
    assert Image.open(out).mode == "RGB" and Image.open(out).size == (24, 24)
