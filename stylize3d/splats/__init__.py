"""Gaussian splats: training (3DGS) from posed data."""
