"""The colour algebra of :mod:`core.colour` in numpy, without torch: the mean/covariance affine map (ARF's colour
transfer) on ``N,3`` pixel lists and on ``H,W,3`` arrays. :mod:`core.colour` computes the statistics on the
tensors' device and calls :func:`affine_colour_map` for the 3×3 algebra, so both engines share it.
"""

import numpy as np

RIDGE = 1e-5
"""Added to covariance diagonals so flat (rank-deficient) colour sets stay invertible."""
YIQ_FROM_RGB = ((0.299, 0.587, 0.114), (0.595716, -0.274453, -0.321263), (0.211456, -0.522591, 0.311135))
"""Rows: Y (Rec.601 luma), I, Q."""


def mean_cov(pixels: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """Mean ``3`` and covariance ``3,3`` (float64, ridge added) of ``N,3`` pixels."""
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 3)
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / max(len(pixels), 1) + RIDGE * np.eye(3)


def sym_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power via eigendecomposition (eigenvalues clamped at the ridge)."""
    values, vectors = np.linalg.eigh(matrix)
    return vectors @ np.diag(np.maximum(values, RIDGE) ** power) @ vectors.T


def affine_colour_map(mean_s: np.ndarray, cov_s: np.ndarray, mean_t: np.ndarray,
                      cov_t: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """``A = Σ_t^½ Σ_s^−½`` (symmetric square roots) and ``b = μ_t − A μ_s`` (float64 ``3,3`` and ``3``): the map
    ``x ↦ A x + b`` takes colours of mean/covariance ``(μ_s, Σ_s)`` to ``(μ_t, Σ_t)``."""
    a = sym_power(cov_t, 0.5) @ sym_power(cov_s, -0.5)
    return a, mean_t - a @ mean_s


def match_colour_array(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``image`` ``H,W,3`` in [0,1] recoloured so its RGB mean/covariance match ``reference``'s (``h,w,3``);
    float32, clipped to [0,1]."""
    a, b = affine_colour_map(*mean_cov(image), *mean_cov(reference))
    out = image.reshape(-1, 3) @ a.T.astype(np.float32) + b.astype(np.float32)
    return np.clip(out, 0.0, 1.0).reshape(image.shape).astype(np.float32)
