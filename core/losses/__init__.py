"""Image-space losses on VGG feature dicts (and on images), shared by every front end.

Each function states its normalisation so numbers can be compared with papers. The names below are imported on
first use, so ``core.losses.config`` (the loss settings, no torch) loads without torch.
"""

import importlib

_EXPORTS = {
    "content_loss": "content", "ContrastiveStyleLoss": "contrastive", "StyleProjector": "contrastive",
    "blend_grams": "gram", "gram_matrix": "gram", "gram_style_loss": "gram", "feature_stats": "meanstd",
    "meanstd_style_loss": "meanstd", "nnfm_loss": "nnfm", "colour_stats_loss": "regularizers",
    "total_variation": "regularizers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core.losses' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.losses.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
