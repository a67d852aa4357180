"""Every registered command documents every option (``--help`` is the user's manual)."""

import argparse

from core.cli import build_parser


def test_every_option_of_every_command_has_help():
    parser = build_parser()
    commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0].choices
    assert {"image", "metrics", "demo"} <= set(commands)
    undocumented = {name: [a.option_strings or a.dest for a in sub._actions if not a.help]
                    for name, sub in commands.items()}
    assert {name: opts for name, opts in undocumented.items() if opts} == {}
