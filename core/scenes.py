"""Where the bundled sample data lives (``scenes/`` beside the packages in a source checkout)."""

import os
from pathlib import Path

from core.errors import InputError


def scenes_dir() -> Path:
    """The ``scenes/`` folder; ``$STYLIZE_SCENES`` overrides it. :class:`InputError` when it cannot be found."""
    override = os.environ.get("STYLIZE_SCENES")
    path = Path(override) if override else Path(__file__).resolve().parents[1] / "scenes"
    if not path.is_dir():
        raise InputError(f"bundled scenes folder {path} not found; run from a source checkout or set STYLIZE_SCENES")
    return path
