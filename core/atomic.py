"""Atomic output files: write to a temporary name in the target folder, then rename.

A reader never sees a half-written file, and an interrupted or failed job leaves nothing behind.
"""

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from core.errors import InputError


@contextlib.contextmanager
def atomic_output(path: "str | os.PathLike") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error remove it.

    The parent folder is created when missing. The temporary name keeps the suffix of ``path`` so that
    writers choosing a format from the extension (PIL, PyAV, cairosvg) still work.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"output {target} is a directory; give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes files private (0600); give the result the usual umask-based mode
            os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refuse_overwriting_inputs(output: "str | os.PathLike", inputs: Iterable["str | os.PathLike"]) -> None:
    """Raise :class:`InputError` when ``output`` names the same file as any of ``inputs``."""
    out = Path(output).resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == out:
            raise InputError(f"output {output} is also an input; choose another output path")
