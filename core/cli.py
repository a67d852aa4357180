"""The ``stylize`` command line: a thin shell that discovers subcommands registered by packages.

Packages register through the entry-point group ``stylize.commands``; each entry is a function
``register(subparsers)`` that adds its subcommands with :func:`add_command` and sets ``func=handler``, where
``handler(args) -> int`` returns the exit status. Core never imports a front end.

User-fixable problems (:class:`core.errors.StylizeError`) print one line and exit with 2; Ctrl-C exits with 130
after the handler has saved what it could. SIGTERM (``kill``, ``timeout``, batch schedulers) is handled like
Ctrl-C while a command runs, so a job stopped that way keeps its best result and checkpoint too.
"""

import argparse
import contextlib
import signal
import sys
import threading
from importlib.metadata import entry_points
from typing import Optional, Sequence

from core.device import DEVICE_CHOICES
from core.errors import StylizeError

COMMAND_GROUP = "stylize.commands"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are a single line (and exit code 2)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (unless it is unset: None/False) and keeps description paragraphs as written."""

    def _get_help_string(self, action):
        if action.default in (None, False) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


def add_command(subparsers, name: str, help: str, description: Optional[str] = None) -> argparse.ArgumentParser:
    """Add a subcommand parser with the toolkit's help formatting and one-line errors."""
    return subparsers.add_parser(name, help=help, description=description or help, formatter_class=HelpFormatter)


def add_common_options(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    """``--device``, ``--seed`` and ``--report``, spelled the same in every command."""
    parser.add_argument("--device", default="auto", metavar="{auto,cpu,cuda}",
                        help=f"compute device: one of {', '.join(DEVICE_CHOICES)} (auto picks CUDA when present)")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same result on CPU")
    parser.add_argument("--report", metavar="FILE.json", default=None,
                        help="write timings, losses, sizes, device and versions as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="stylize", formatter_class=HelpFormatter,
                                description="Artistic style transfer for images, video, 3D Gaussian splats and SVG.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineErrorParser)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()(subparsers)
    return parser


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt():
    """While the block runs (in the main thread), SIGTERM raises :class:`KeyboardInterrupt` like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with terminate_as_interrupt():
            return int(args.func(args) or 0)
    except StylizeError as exc:
        print(f"stylize {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"stylize {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
