"""Image-space losses on VGG feature dicts (and on images), shared by every front end.

Each function states its normalisation so numbers can be compared with papers.
"""

from core.losses.content import content_loss
from core.losses.contrastive import ContrastiveStyleLoss, StyleProjector
from core.losses.gram import blend_grams, gram_matrix, gram_style_loss
from core.losses.meanstd import feature_stats, meanstd_style_loss
from core.losses.nnfm import nnfm_loss
from core.losses.regularizers import colour_stats_loss, total_variation

__all__ = [
    "content_loss", "gram_matrix", "gram_style_loss", "blend_grams", "feature_stats", "meanstd_style_loss",
    "nnfm_loss", "ContrastiveStyleLoss", "StyleProjector", "total_variation", "colour_stats_loss",
]
