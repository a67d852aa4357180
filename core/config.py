"""Config dataclasses by field name: front-end configs nest the shared ones (``loss: StyleLossConfig``,
``loop: LoopConfig``), and users, tests and the CLI set any field by its plain name."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterator, Tuple


def field_names(config) -> Iterator[str]:
    """Every leaf field name of a config dataclass (class or instance), nested configs included."""
    instance = config() if isinstance(config, type) else config
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        if dataclasses.is_dataclass(value):
            yield from field_names(value)
        else:
            yield f.name


def replace_fields(config, **values: Any):
    """A copy of ``config`` (class or instance) with the leaf fields named in ``values`` replaced, wherever they
    sit in the nesting: ``replace_fields(GatysConfig, steps=20, style_weight=100)``. Unknown names raise
    ``TypeError``."""
    instance = config() if isinstance(config, type) else config
    unknown = set(values) - set(field_names(instance))
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field(s) {', '.join(sorted(unknown))}")
    return _replace(instance, values)[0]


def _replace(instance, values: Dict[str, Any]) -> Tuple[Any, bool]:
    changes = {}
    for f in dataclasses.fields(instance):
        current = getattr(instance, f.name)
        if dataclasses.is_dataclass(current):
            nested, changed = _replace(current, values)
            if changed:
                changes[f.name] = nested
        elif f.name in values:
            changes[f.name] = values[f.name]
    return (dataclasses.replace(instance, **changes), True) if changes else (instance, False)
