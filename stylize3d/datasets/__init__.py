"""Readers of posed data and training runs: cameras, images and scenes from the layouts users have."""
