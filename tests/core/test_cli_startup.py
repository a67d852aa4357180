"""Start-up: ``stylize --help`` lists every command from the packages' command tables without importing any command
module (so without torch), and ``stylize CMD`` imports only CMD's. Each case runs in a fresh interpreter."""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import core.cli
from core.cli import COMMAND_GROUP, Command, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"torch", "diffusers", "transformers", "cv2", "av"}
TABLES = {"stylize3d", "stylize3d.commands", "vector", "vector.commands"}
"""All that ``stylize --help`` may import of the front ends: each package (its lazy ``__init__``) and its table."""

PROBE = """
import json, sys
from core.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {roots!r})))
"""


def imported_after(argv: list) -> set:
    """Modules of torch, the diffusion stacks, OpenCV, PyAV and the front ends imported by ``stylize ARGV``."""
    roots = sorted(HEAVY | {"stylize3d", "vector"})
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, roots=roots)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], [], ["no-such-command"]], ids=["help", "no-command", "unknown"])
def test_the_command_list_imports_no_command_module(argv):
    modules = imported_after(argv)
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert modules <= TABLES


def test_a_command_imports_only_its_own_modules():
    modules = imported_after(["image", "--help"])
    assert not {m for m in modules if m.split(".")[0] in HEAVY}  # its configs and options are torch-free modules
    assert modules <= TABLES
    modules = imported_after(["video", "--help"])
    assert not {m for m in modules if m.split(".")[0] in {"diffusers", "transformers"}}
    assert modules - {m for m in modules if m.split(".")[0] in HEAVY} <= TABLES


def test_the_lazy_list_is_the_full_parsers_list():
    """Name, order and one-line help of every command: the tables agree with what the commands register."""
    assert build_parser(commands=[]).format_help() == build_parser().format_help()


def test_a_listed_command_is_registered_in_full_only_when_asked_for():
    commands = _subcommands(build_parser(commands=["metrics"]))
    assert {"image", "metrics", "svg", "scene"} <= set(commands)
    assert "--content" in commands["metrics"]._option_string_actions
    assert "--content" not in commands["image"]._option_string_actions


def register_legacy(subparsers) -> None:
    """A plug-in's plain ``register(subparsers)`` of the older contract: adds its commands itself."""
    core.cli.add_command(subparsers, "legacy", "a plug-in command").set_defaults(func=lambda args: 7)


def test_a_plain_register_entry_still_adds_its_commands(monkeypatch):
    tables = list(core.cli.entry_points(group=COMMAND_GROUP))
    legacy = SimpleNamespace(name="zz-legacy", load=lambda: register_legacy)
    monkeypatch.setattr(core.cli, "entry_points", lambda group: [*tables, legacy])
    assert "legacy" in build_parser(commands=[]).format_help()
    assert main(["legacy"]) == 7


def test_a_table_row_whose_function_adds_another_command_is_refused(monkeypatch):
    table = {"promised": Command("a command", "tests.core.test_cli_startup:register_legacy")}
    broken = SimpleNamespace(name="broken", load=lambda: table)
    monkeypatch.setattr(core.cli, "entry_points", lambda group: [broken])
    monkeypatch.syspath_prepend(str(ROOT))
    with pytest.raises(TypeError, match="promised"):
        build_parser()


def _subcommands(parser) -> dict:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0].choices
