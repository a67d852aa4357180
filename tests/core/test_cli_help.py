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



def test_every_help_page_formats_and_names_each_default_once():
    """``--help`` of every command formats (a bare ``%`` in a help text is a traceback there), and no help text
    that gives a default in words also gets the formatter's ``(default: …)``: with a command's own default (``stylize
    scene``'s ``--lr 0.1``) the two contradict."""
    parser = build_parser()
    commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0].choices
    for sub in commands.values():
        assert sub.format_help()
    twice = {name: [a.option_strings[0] for a in sub._actions if a.option_strings and a.help
                    and "(default" in a.help and "%(default)" in _help_template(sub, a)]
             for name, sub in commands.items()}
    assert {name: opts for name, opts in twice.items() if opts} == {}


def _help_template(parser, action) -> str:
    """The help text the formatter expands for ``action`` (its own text plus any ``(default: %(default)s)``)."""
    return parser.formatter_class(parser.prog)._get_help_string(action)
