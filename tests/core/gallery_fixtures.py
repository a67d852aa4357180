"""A folder of results as the toolkit writes them: images, an ``image`` report and a ``metrics`` report."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from core.report import Report


def write_results(root: Path) -> Path:
    """``root/run/{content,style,result}.png``, ``run/report.json`` (command ``image``) and
    ``run/result.metrics.json`` (command ``metrics`` on result.png); returns ``root``."""
    run = root / "run"
    run.mkdir(parents=True)
    h, w = 60, 90
    x = np.linspace(0, 1, w)[None, :, None]
    content = np.concatenate([np.broadcast_to(x, (h, w, 1)), np.full((h, w, 1), 0.2), np.full((h, w, 1), 0.8)], 2)
    Image.fromarray((content * 255).astype(np.uint8)).save(run / "content.png")
    Image.fromarray(((1 - content) * 255).astype(np.uint8)).save(run / "result.png")
    Image.fromarray(np.full((32, 32, 3), (200, 40, 40), np.uint8)).save(run / "style.png")
    report = Report("image", {"command": "image", "content": str(run / "content.png"),
                              "styles": [str(run / "style.png")], "output": str(run / "result.png"), "size": 256,
                              "steps": 50, "method": "gatys", "quiet": False, "func": "<function run>"})
    report.inputs = [str(run / "content.png"), str(run / "style.png")]
    report.outputs = [str(run / "result.png")]
    report.set_steps(50, 12.5)
    report.metrics = {"style_loss_initial": 3.25, "style_loss_final": 0.5, "interrupted": False,
                      "loss_history": [1.0, 0.5]}
    report.write(run / "report.json")
    measure = Report("metrics", {"image": "result.png"})
    measure.inputs = ["result.png", "content.png", "style.png"]  # relative to the report's folder
    measure.metrics = {"style_distance": 0.125, "content_distance": 2.5, "ssim": 0.75, "size": 256}
    measure.write(run / "result.metrics.json")
    (run / "not_a_report.json").write_text(json.dumps({"frames": []}))
    return root
