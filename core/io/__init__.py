"""Conversions between files and tensors; the only place PIL/numpy images meet the rest of the code."""
