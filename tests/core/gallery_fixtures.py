"""A folder of results as the toolkit writes them, from the README's example pictures: an ``image`` run with its
report and a ``metrics`` report, a GIF pair with a ``video``-style report, and a JSON that is no report."""

import json
import shutil
from pathlib import Path

from core.report import Report
from core.scenes import scenes_dir


def write_results(root: Path) -> Path:
    """``root/run/``: content.jpg, style.jpg, result.jpg, report.json (``image``), result.metrics.json
    (``metrics`` on result.jpg, paths relative to its folder); ``root/orbit/``: original.gif, stylized.gif,
    report.json. Returns ``root``."""
    examples = scenes_dir() / "examples"
    run, orbit = root / "run", root / "orbit"
    run.mkdir(parents=True)
    orbit.mkdir()
    for name, source in (("content.jpg", "content_stone_house.jpg"), ("style.jpg", "style_starry_night.jpg"),
                         ("result.jpg", "result_starry_night.jpg")):
        shutil.copy(examples / source, run / name)
    shutil.copy(examples / "scene_original.gif", orbit / "original.gif")
    shutil.copy(examples / "scene_stylized.gif", orbit / "stylized.gif")
    # paths as a command run in root's parent folder would record them (resolved by file name in the report's folder)
    report = Report("image", {"command": "image", "content": "run/content.jpg", "styles": ["run/style.jpg"],
                              "output": "run/result.jpg", "size": 256, "steps": 50, "method": "gatys",
                              "quiet": False, "func": "<function run>"})
    report.inputs = ["run/content.jpg", "run/style.jpg"]
    report.outputs = ["run/result.jpg"]
    report.set_steps(50, 12.5)
    report.metrics = {"style_loss_initial": 3.25, "style_loss_final": 0.5, "interrupted": False,
                      "loss_history": [1.0, 0.5]}
    report.write(run / "report.json")
    doc = json.loads((run / "report.json").read_text())
    doc["timings"]["total_s"] = 14.25  # as a real run would record it (not the microseconds this fixture took)
    (run / "report.json").write_text(json.dumps(doc))
    measure = Report("metrics", {"image": "result.jpg"})
    measure.inputs = ["result.jpg", "content.jpg", "style.jpg"]  # relative to the report's folder
    measure.metrics = {"style_distance": 0.125, "content_distance": 2.5, "ssim": 0.75, "size": 256}
    measure.write(run / "result.metrics.json")
    video = Report("video", {"command": "video"})
    video.inputs = [str(orbit / "original.gif")]
    video.outputs = [str(orbit / "stylized.gif")]
    video.metrics = {"consistency": "flow", "frames_stylized": 18}
    video.write(orbit / "report.json")
    (run / "not_a_report.json").write_text(json.dumps({"frames": []}))
    return root
