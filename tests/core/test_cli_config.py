"""Flags generated from config dataclasses: defaults come from the dataclass only, for every command."""

import argparse
import dataclasses

import pytest

from core.cli import FLAG_MAP, build_parser, config_from_args, main
from core.config import field_names, replace_fields
from core.image.gatys import GatysConfig
from core.train.loop import TrainConfig
from core.video.cli import VIDEO_GATYS
from stylize3d.scene_style import SceneStyleConfig
from stylize3d.splats.stylize import SplatStyleOptions
from vector.restyle import RestyleConfig

COMMANDS = {
    "image": (GatysConfig(), ["c.png", "s.png", "-o", "o.png"], {"steps"}),
    "scene": (SceneStyleConfig(), ["s.ply", "s.png", "-o", "out"], set()),
    "scene:splats": (SplatStyleOptions(), ["s.ply", "s.png", "-o", "out"], set()),
    "svg": (RestyleConfig(), ["a.svg", "s.png", "-o", "o.svg"], set()),
    "video": (VIDEO_GATYS, ["v.mp4", "s.png", "-o", "o.mp4"], set()),
    "train-decoder": (TrainConfig(), ["--content", "c", "--styles", "s", "-o", "d.safetensors"], set()),
}


@pytest.fixture(scope="module")
def parser():
    return build_parser()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_field_has_a_flag_whose_default_is_the_dataclass_default(parser, command):
    config, positional, skipped = COMMANDS[command]
    command = command.split(":")[0]  # "scene:splats": the splat-only options of `stylize scene`
    args = parser.parse_args([command, *positional])
    flags = getattr(args, FLAG_MAP)
    assert set(field_names(config)) - skipped <= set(flags), "a config field has no flag"
    assert config_from_args(config, args) == config
    sub = parser._subparsers._group_actions[0].choices[command]
    by_dest = {a.dest: a for a in sub._actions if a.help != argparse.SUPPRESS}  # not the deprecated aliases
    for name in set(field_names(config)) - skipped:
        if flags[name] in ("--seed",):
            continue  # the common --seed (default 0) serves the field
        assert by_dest[name].default == _leaf(config, name), name


def _leaf(config, name):
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            try:
                return _leaf(value, name)
            except KeyError:
                continue
        if f.name == name:
            return value
    raise KeyError(name)


def test_flags_reach_nested_fields_and_bools_have_a_no_form(parser):
    args = parser.parse_args(["scene", "s.ply", "s.png", "-o", "out", "--loss", "gram", "--steps", "7", "--lr", "0.3",
                              "--style-layers", "relu1_1,relu2_1", "--no-color-transfer"])
    config = config_from_args(SceneStyleConfig, args)
    assert config == replace_fields(SceneStyleConfig, kind="gram", steps=7, lr=0.3,
                                    style_layers=("relu1_1", "relu2_1"), color_transfer=False)


def test_old_flag_names_still_work_with_a_deprecation_line(parser, capsys):
    args = parser.parse_args(["svg", "a.svg", "s.png", "-o", "o.svg", "--structure-weight", "0.3", "--style-loss", "nnfm"])
    config = config_from_args(RestyleConfig, args)
    assert config.loss.content_weight == 0.3 and config.loss.kind == "nnfm"
    err = capsys.readouterr().err
    assert "--structure-weight is deprecated; use --content-weight" in err and "--style-loss is deprecated" in err


def test_a_bad_config_value_names_the_flag(content_png, style_png, tmp_path, capsys):
    out = tmp_path / "o.png"
    code = main(["image", str(content_png), str(style_png), "-o", str(out), "--style-weight", "-1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "stylize image: error: --style-weight must be a finite number >= 0, got -1.0"
    assert not out.exists()
