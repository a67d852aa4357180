"""The process of one batch attempt: ``python -m core.batch.child [--resume-if-supported] COMMAND ARGS...``.

It first asks the kernel to kill it when the worker that started it dies (Linux ``PR_SET_PDEATHSIG``), so a
killed worker — a local runner thread's process or a Ray worker — never leaves an orphan writing the same
outputs as the retry. With ``--resume-if-supported`` it adds ``--resume`` when COMMAND has that option, so a
retried job continues from its own checkpoint. Then it runs ``stylize COMMAND ARGS...`` (:func:`core.cli.main`)
and exits with its status.
"""

import ctypes
import os
import signal
import sys

PARENT_ENV = "STYLIZE_BATCH_PARENT"
"""Environment variable holding the pid of the worker that started the attempt."""
RESUME_FLAG = "--resume-if-supported"
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies; exit at once when that already happened."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):  # the parent died before prctl took effect
        os._exit(128 + signal.SIGKILL)


def accepts_resume(command: str) -> bool:
    """Whether ``stylize COMMAND`` has a ``--resume`` option (imports only that command's module)."""
    from core.cli import build_parser

    parser = build_parser([command])
    for action in parser._subparsers._group_actions:  # argparse keeps the subcommand parsers here
        sub = getattr(action, "choices", {}).get(command)
        if sub is not None:
            return "--resume" in sub._option_string_actions
    return False


def main(argv: list) -> int:
    die_with_parent()
    if argv and argv[0] == RESUME_FLAG:
        argv = argv[1:]
        if argv and accepts_resume(argv[0]) and "--resume" not in argv:
            argv = argv + ["--resume"]
    from core.cli import main as stylize

    return stylize(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
