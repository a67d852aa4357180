"""Diffusion priors built on ``diffusers`` (optional extra: ``pip install -e ".[diffusion]"``).

Modules, one job each:

- :mod:`core.priors.loading` — load a local Stable Diffusion folder (diffusers layout) offline.
- :mod:`core.priors.model` — :class:`DiffusionModel`: prompt encoding, VAE encode/decode.
- :mod:`core.priors.ddim` — deterministic DDIM inversion and sampling.
- :mod:`core.priors.attention` — attention-processor plumbing (diffusers' extension seam).
- :mod:`core.priors.style_injection` — StyleID-like training-free style injection.
- :mod:`core.priors.shared_attention` — StyleAligned-like shared-attention generation.
- :mod:`core.priors.sds` — :class:`SDSLoss`, score distillation as a loss for differentiable renderers.
- :mod:`core.priors.cli` — ``stylize generate`` and option helpers for ``stylize image --method styleid``.

Importing this package does not import ``diffusers``; the modules do, on first use.
"""
