"""Photos or video → a posed dataset (pycolmap structure from motion) in nerfstudio's layout."""
