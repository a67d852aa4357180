"""The ``stylize`` command line: a thin shell that discovers subcommands registered by packages.

Packages register through the entry-point group ``stylize.commands``. An entry names the package's *command
table*: a mapping, in a module that imports nothing heavy, of subcommand name → :class:`Command` (or a plain
``(help, "module:function")`` pair): the one-line help ``stylize --help`` lists and the function that registers
that one subcommand. ``function(subparsers)`` adds it with :func:`add_command` (same name, same help) and sets
``func=handler``, where ``handler(args) -> int`` returns the exit status. ``stylize --help`` (and a missing or
unknown command) reads only the tables; ``stylize CMD ...`` imports only CMD's registering module, so a command
pays for no other command's imports (torch included, while this module and the tables stay free of it). An entry
may instead name a plain ``register(subparsers)`` that adds all of a package's subcommands at once: it still
works, but its module is then imported on every call, ``--help`` included. Core never imports a front end.

User-fixable problems (:class:`core.errors.StylizeError`) print one line and exit with 2; Ctrl-C exits with 130
after the handler has saved what it could. SIGTERM (``kill``, ``timeout``, batch schedulers) is handled like
Ctrl-C while a command runs, so a job stopped that way keeps its best result and checkpoint too.

Commands are built from config dataclasses: :func:`add_config_options` turns every field into a flag (help from
the field's ``metadata["help"]``, the default from the dataclass — never copied by hand) and
:func:`config_from_args` turns the parsed flags back into the dataclass. :func:`run_job` is the one run skeleton:
device, seed, report, checkpoint, progress and the interrupted message (exit 130).
"""

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading
import warnings
import typing
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Dict, NamedTuple, Optional, Sequence

from core.config import field_names, replace_fields
from core.errors import ConfigError, StylizeError

if TYPE_CHECKING:
    import torch

    from core.optimize import Checkpoint

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


def add_common_options(parser: argparse.ArgumentParser, seed: bool = True, resumable: bool = False) -> None:
    """``--device``, ``--seed`` and ``--report`` (plus ``--resume`` and ``--quiet`` for long, checkpointed jobs),
    spelled the same in every command."""
    from core.device import DEVICE_CHOICES

    parser.add_argument("--device", default="auto", metavar="{auto,cpu,cuda}",
                        help=f"compute device: one of {', '.join(DEVICE_CHOICES)} (auto picks CUDA when present)")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same result on CPU")
    parser.add_argument("--report", metavar="FILE.json", default=None,
                        help="write timings, losses, sizes, device and versions as JSON")
    if resumable:
        parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")


# -- flags from config dataclasses -----------------------------------------------------------------------------

FLAG_MAP = "_config_flags"
"""Name of the parsed-args attribute mapping config field names to the flags that set them."""


class _Deprecated(argparse.Action):
    """An old flag name: stores into the new flag's field and says once that the name changed."""

    def __init__(self, option_strings, dest, new_flag: str, value_type=None, **kwargs):
        self.new_flag, self.value_type = new_flag, value_type
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: {option_string} is deprecated; use {self.new_flag}", file=sys.stderr)
        setattr(namespace, self.dest, values if self.const is None else self.const)


def _unwrap_optional(hint):
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return hint, False


def _comma_list(text: str) -> tuple:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _fields(cls_or_instance):
    """(field, hint, default) of a config dataclass, recursing into nested config dataclasses."""
    instance = cls_or_instance if not isinstance(cls_or_instance, type) else cls_or_instance()
    hints = typing.get_type_hints(type(instance))
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            yield from _fields(value)
        else:
            yield f, hints[f.name], value


def config_flag(f: dataclasses.Field, prefix: str = "") -> str:
    """The flag of a config field: ``metadata["flag"]`` or ``--<prefix><name with dashes>``."""
    return f.metadata.get("flag") or f"--{prefix}{f.name.replace('_', '-')}"


def add_config_options(parser: argparse.ArgumentParser, config, skip: Sequence[str] = (), prefix: str = "",
                       renamed: Optional[Dict[str, Sequence[str]]] = None, group: Optional[str] = None) -> None:
    """One flag per field of the config dataclass ``config`` (a class or an instance whose values become the
    defaults), nested config dataclasses included. ``skip``: field names left out. ``renamed``: field name →
    old flag names still accepted (with a deprecation line). Bools become ``--x/--no-x``, tuples comma lists."""
    target = parser.add_argument_group(group) if group else parser
    flags = dict(parser.get_default(FLAG_MAP) or {})
    for f, hint, default in _fields(config):
        if f.name in skip:
            continue
        flag = config_flag(f, prefix)
        flags[f.name] = flag
        if flag in parser._option_string_actions:  # e.g. --seed from add_common_options: one flag, one field
            continue
        kind, _ = _unwrap_optional(hint)
        help_text = f.metadata.get("help")
        if help_text is None:
            raise TypeError(f"config field {f.name} has no help (metadata={{'help': ...}})")
        options = {"dest": f.name, "default": default, "help": help_text}
        if f.metadata.get("metavar"):
            options["metavar"] = f.metadata["metavar"]
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _comma_list if typing.get_origin(kind) is tuple or kind is tuple else kind
            if "choices" in f.metadata:
                options["choices"] = f.metadata["choices"]
        if kind is not bool and isinstance(default, tuple):
            options["default"] = default  # shown in --help as a tuple; parsed values are tuples too
        target.add_argument(flag, **options)
        for old in (renamed or {}).get(f.name, ()):
            extra = {"nargs": 0, "const": not old.startswith("--no-")} if kind is bool else {"type": options["type"]}
            target.add_argument(old, dest=f.name, action=_Deprecated, new_flag=flag, help=argparse.SUPPRESS,
                                default=argparse.SUPPRESS, **extra)
    parser.set_defaults(**{FLAG_MAP: flags})


def config_from_args(config, args: argparse.Namespace, **overrides):
    """The config dataclass ``config`` (class or instance) with every field that :func:`add_config_options`
    made a flag for taken from ``args``, nested configs included; ``overrides`` (field name → value) win."""
    flagged = getattr(args, FLAG_MAP, None) or {}
    values = {k: v for k, v in vars(args).items() if k in flagged and k in set(field_names(config))}
    return replace_fields(config, **{**values, **overrides})


# -- the run skeleton ------------------------------------------------------------------------------------------

class Job:
    """What :func:`run_job` gives a command's body: device, report, seed, progress and checkpoints."""

    def __init__(self, args: argparse.Namespace, command: str):
        from core.report import Report

        self.args, self.command = args, command
        self._device: "Optional[torch.device]" = None
        self.seed: int = int(getattr(args, "seed", 0) or 0)
        self.progress: bool = not getattr(args, "quiet", False)
        self.resume: bool = bool(getattr(args, "resume", False))
        self.report = Report(command, {k: v for k, v in vars(args).items() if not k.startswith("_") and k != "func"})

    @property
    def device(self) -> "torch.device":
        """The torch device ``--device`` names, resolved (and torch imported) on first use: a body that runs without
        torch (the ONNX Runtime fast path) never pays for it."""
        if self._device is None:
            from core.device import resolve_device

            self._device = resolve_device(getattr(self.args, "device", "auto"))
            self.report.device = self._device
        return self._device

    def checkpoint(self, path: "str | Path", meta: dict, every: int = 25) -> "Checkpoint":
        """A checkpoint at ``path`` for a job described by ``meta`` (resuming with other meta is refused)."""
        from core.optimize import Checkpoint

        return Checkpoint(path, every=every, meta=meta)

    def interrupted(self, what: str) -> int:
        """Say that the job stopped early and what was kept; returns the exit status 130."""
        resume = " (continue with the same command plus --resume)" if hasattr(self.args, "resume") else ""
        print(f"stylize {self.command}: interrupted; {what}{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED


def run_job(args: argparse.Namespace, command: str, body: Callable[[Job], int]) -> int:
    """Run a command's ``body(job)`` with the shared skeleton; writes ``--report`` when the body returns.

    The body records inputs, outputs, sizes and metrics on ``job.report`` and returns its exit status
    (``job.interrupted(...)`` for a run stopped by Ctrl-C/SIGTERM).
    """
    job = Job(args, command)
    status = int(body(job) or 0)
    job.report.write(getattr(args, "report", None))
    return status


class Command(NamedTuple):
    """One row of a package's command table (see the module docstring)."""

    help: str
    """The one-line help: listed by ``stylize --help``, passed by the registering function to :func:`add_command`."""
    register: str
    """``"module:function"``; ``function(subparsers)`` adds this one subcommand (importing its module is the cost)."""


def build_parser(commands: Optional[Collection[str]] = None) -> argparse.ArgumentParser:
    """The ``stylize`` parser listing every installed subcommand. ``commands``: the names registered in full (their
    modules imported; None: every one); the others are listed by name and one-line help only, and cannot parse."""
    parser = OneLineErrorParser(prog="stylize", formatter_class=HelpFormatter,
                                description="Artistic style transfer for images, video, 3D scenes (Gaussian splats, radiance "
                                            "fields), SVG and brush-stroke paintings.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineErrorParser)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        table = entry.load()
        if callable(table):  # a plain register(subparsers) adding all of its package's commands
            table(subparsers)
            continue
        for name, row in table.items():
            row = Command(*row)
            if commands is not None and name not in commands:
                subparsers.add_parser(name, help=row.help)
                continue
            EntryPoint(name, row.register, COMMAND_GROUP).load()(subparsers)
            if name not in subparsers.choices:
                raise TypeError(f"{row.register} did not add the subcommand {name!r} its command table promises")
    return parser


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt():
    """While the block runs (in the main thread), SIGTERM raises :class:`KeyboardInterrupt` like Ctrl-C does, and
    Ctrl-C (SIGINT) does so even where it was inherited as ignored (jobs started in the background by a
    non-interactive shell, as CI and batch scripts do)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if previous_int is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), None)  # `stylize` has no option with a value
    args = build_parser(commands=[command] if command else []).parse_args(argv)
    args._argv = argv  # the words as given: a command that reruns itself in parts (video --segments) starts from them
    formatwarning = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *_, **__: f"stylize {args.command}: warning: {message}\n"
    try:
        with terminate_as_interrupt():
            return int(args.func(args) or 0)
    except StylizeError as exc:
        print(f"stylize {args.command}: error: {_user_message(exc, args)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"stylize {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        warnings.formatwarning = formatwarning


def _user_message(exc: StylizeError, args: argparse.Namespace) -> str:
    """The error on one line; a config field is shown as the flag that sets it."""
    flags = getattr(args, FLAG_MAP, None) or {}
    if isinstance(exc, ConfigError) and exc.field in flags:
        return exc.with_flag(flags[exc.field])
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
