"""The gallery page and ``stylize gallery``: wipe pairs, the report convention, command lines, key numbers."""

import re

from core.cli import main
from core.gallery import Item, Section, render_html
from core.gallery_results import command_line, key_numbers, results_sections
from tests.core.gallery_fixtures import write_results


def test_wipe_pair_inferred_from_labels_for_existing_demo_items():
    image = Item("x", [("content", "c.jpg"), ("style", "s.jpg"), ("result", "r.png")])
    assert image.wipe_pair() == ("c.jpg", "r.png")
    gifs = Item("y", [("style", "s.jpg"), ("original (preview)", "o.gif"), ("original (MP4)", "o.mp4"),
                      ("stylized (preview)", "t.gif"), ("stylized (MP4)", "t.mp4")])
    assert gifs.wipe_pair() == ("o.gif", "t.gif")
    assert Item("z", [("original | per-frame | consistent (MP4)", "v.mp4")]).wipe_pair() is None
    assert Item("w", [("content", "c.jpg"), ("result", "r.png")], compare=()).wipe_pair() is None


def test_page_has_one_wipe_per_pair_and_no_external_resources():
    page = render_html([Section("s", items=[Item("a", [("content", "c.jpg"), ("result", "r.png")]),
                                            Item("b", [("original", "o.mp4"), ("stylized", "t.mp4")],
                                                 command="stylize x", numbers={"time": "1 s"})])])
    assert page.count("<div class='wipe' data-wipe>") == 2
    assert "class='wipe-under'" in page and '<video src="t.mp4" class=\'wipe-under\'' in page
    assert "<pre class='cmd'>stylize x</pre>" in page and "<td>time</td><td>1 s</td>" in page
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)
    assert page.count('src="c.jpg"') == 1  # shown in the wipe, not again in the row


def test_results_sections_follow_the_report_convention(tmp_path):
    root = write_results(tmp_path)
    sections = results_sections(root)
    # the metrics report is merged into the result it measured, the other JSON is no report
    assert [s.title for s in sections] == ["stylize video", "stylize image"]  # in the order of the report paths
    (item,) = sections[1].items
    assert item.title == "run/report.json"
    assert item.wipe_pair() == ("run/content.jpg", "run/result.jpg")
    assert ("style", "run/style.jpg") in item.media
    assert sections[0].items[0].wipe_pair() == ("orbit/original.gif", "orbit/stylized.gif")
    assert item.numbers["style distance"] == "0.125" and item.numbers["content distance"] == "2.5"
    assert item.numbers["style loss final"] == "0.5" and item.numbers["time"] == "14.2 s on cpu"
    assert item.numbers["steps"] == "50 (0.25 s per step)"
    assert ("result.metrics.json", "run/result.metrics.json") in item.links
    assert item.command.startswith("stylize image ") and "--steps 50" in item.command and "--size 256" in item.command
    assert "--quiet" not in item.command and "--method" not in item.command  # defaults left out


def test_command_line_prefers_recorded_argv():
    assert command_line({"command": "image", "argv": ["image", "a b.jpg", "s.jpg"]}) == "stylize image 'a b.jpg' s.jpg"


def test_key_numbers_pick_distances_and_skip_lists():
    numbers = key_numbers({"timings": {"total_s": 3.0}, "metrics": {"warping_error": {"1": 0.02}, "frames": 8,
                                                                    "loss_history": [1, 2], "consistency": "on"}})
    assert numbers == {"time": "3.0 s", "warping error.1": "0.02"}


def test_gallery_command_writes_index(tmp_path, capsys):
    root = write_results(tmp_path)
    assert main(["gallery", str(root)]) == 0
    page = (root / "index.html").read_text()
    assert "data-wipe" in page and 'src="run/result.jpg"' in page and "0.125" in page


def test_gallery_command_errors(tmp_path, capsys):
    assert main(["gallery", str(tmp_path / "missing")]) == 2
    assert main(["gallery", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "holds no report JSON" in err
