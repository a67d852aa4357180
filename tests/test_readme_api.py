"""README's "Python API": every snippet runs as written (from a folder holding the bundled ``scenes/`` and a tiny
posed dataset at ``data/views``) and leaves what it says it writes; the package top levels import lazily."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _api_snippets() -> list:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


SNIPPETS = _api_snippets()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from stylize3d.datasets.synthetic import write_synthetic_dataset

    folder = tmp_path_factory.mktemp("readme")
    (folder / "scenes").symlink_to(ROOT / "scenes")
    write_synthetic_dataset(folder / "data" / "views", views=8, size=32)
    return folder


def test_the_section_has_a_snippet_per_front_end():
    calls = "\n".join(SNIPPETS)
    for call in ("stylize_image(", "stylize_scene(", "fit(", "restyle_svg(", "paint(", "stylize_video("):
        assert call in calls, f"README's Python API shows no {call}"
    front_end_snippets = [s for s in SNIPPETS if s.startswith("#")]
    assert all(len([line for line in s.splitlines() if not line.startswith("#")]) <= 5 for s in front_end_snippets)


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs_and_writes_its_outputs(workdir, monkeypatch, index):
    code = SNIPPETS[index]
    monkeypatch.chdir(workdir)
    written = re.findall(r'"([\w./]+\.(?:png|ply|safetensors|svg|mp4))"\)', code)
    for name in written:
        Path(name).unlink(missing_ok=True)
    exec(compile(code, f"README snippet {index}", "exec"), {"__name__": "__readme__"})
    for name in written:
        assert Path(name).stat().st_size > 0, name


def test_stylize_image_moves_the_style_statistics_toward_the_style(workdir, monkeypatch):
    from core import load_image, metrics, stylize_image

    monkeypatch.chdir(workdir)
    style = load_image("scenes/images/starry_night.jpg", 128)
    photo = load_image("scenes/images/stone_house.png", 128)
    image = stylize_image(photo, style, steps=10)
    assert image.shape == photo.shape and 0 <= float(image.min()) and float(image.max()) <= 1
    assert metrics.style_distance(image, style) < 0.7 * metrics.style_distance(photo, style)


def test_stylize_scene_settings_go_where_they_belong():
    from stylize3d.representations import representations
    from stylize3d.stylize import split_settings

    config, options = split_settings(representations()["splats"], steps=3, kind="gram", optimize="all", size=40)
    assert (config.loop.steps, config.loss.kind, config.size, options.optimize) == (3, "gram", 40, "all")
    config, options = split_settings(representations()["field"], steps=3)
    assert config.loop.steps == 3 and options is None
    with pytest.raises(TypeError, match="no field"):
        split_settings(representations()["field"], optimize="all")  # a splat option on a field


@pytest.mark.parametrize("package", ["core", "stylize3d", "vector"])
def test_importing_a_package_top_level_does_not_import_torch(package):
    code = f"import sys, {package}; assert 'torch' not in sys.modules, 'torch imported'; print({package}.__all__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "stylize_image" in out.stdout or "stylize_scene" in out.stdout or "restyle_svg" in out.stdout


def test_an_unknown_top_level_name_is_an_attribute_error():
    import stylize3d

    with pytest.raises(AttributeError, match="no attribute 'stylise_scene'"):
        stylize3d.stylise_scene
