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
- :mod:`core.priors.video_diffusion` — the video prior (``stylize video --method diffusion``): keyframes edited
  jointly (:mod:`~core.priors.extended_attention`, :mod:`~core.priors.keyframes`), frames between propagated
  (:mod:`~core.priors.propagation`), for the edits of :mod:`~core.priors.video_edits`.

Importing this package does not import ``diffusers``; the modules do, on first use.
"""
