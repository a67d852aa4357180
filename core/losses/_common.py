"""Per-layer weighting shared by the style losses."""

from typing import Mapping, Optional, Sequence


def layer_weights(layers: Sequence[str], weights: Optional[Mapping[str, float]]) -> dict:
    """``{layer: weight}`` for ``layers``; missing entries (or ``weights=None``) default to 1."""
    weights = weights or {}
    unknown = set(weights) - set(layers)
    if unknown:
        raise ValueError(f"weights given for layers that are not used: {sorted(unknown)}")
    return {name: float(weights.get(name, 1.0)) for name in layers}
