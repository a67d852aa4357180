"""Feed-forward arbitrary style transfer: VGG19 encoder → AdaIN/WCT at relu4_1 → trained decoder.

One forward pass per image, for any style image, no per-style training. The decoder is the one this project
trains (``stylize train-decoder``) and ships in ``core/nn/weights/`` (see its ``MODEL_CARD.md``); another can be
given as a safetensors file.
"""

import functools
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.atomic import atomic_output
from core.colour import luminance_transfer
from core.errors import InputError, ModelError
from core.image.transforms import labels_at, transform_features
from core.nn.decoder import INPUT_LAYER, UPSAMPLING, Decoder, expected_shapes
from core.nn.vgg import load_vgg19

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "nn" / "weights"
DEFAULT_DECODER = WEIGHTS_DIR / "adain_decoder_relu4_1.safetensors"
FORMAT_TAG = "stylize-adain-decoder-v1"


def save_decoder(decoder: Decoder, path: "str | os.PathLike", dtype: torch.dtype = torch.float16,
                 metadata: Optional[dict] = None) -> Path:
    """Write ``decoder``'s weights atomically as safetensors (``dtype``, fp16 by default) with string metadata."""
    path = Path(path)
    tensors = {k: v.to("cpu", dtype) for k, v in decoder.flat_state().items()}
    meta = {"format": FORMAT_TAG, "input_layer": INPUT_LAYER,
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()}}
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load_decoder(path: "str | os.PathLike | None" = None, device="cpu") -> Decoder:
    """Load a decoder from safetensors (``None``: the shipped default) as float32 on ``device``, in eval mode.

    Raises :class:`ModelError` for a missing or corrupt file and for missing, unexpected or wrongly shaped tensors,
    naming the expected layout.
    """
    return _load_cached(str(Path(path or DEFAULT_DECODER).resolve()), str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, device: str) -> Decoder:
    file = Path(path)
    if not file.is_file():
        hint = " (the shipped decoder is missing: reinstall the package)" if file == DEFAULT_DECODER else ""
        raise ModelError(f"decoder file {file} not found{hint}")
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"decoder file {file} is not a readable safetensors file ({exc})") from None
    expected = expected_shapes()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelError(f"decoder file {file} does not hold a relu4_1 AdaIN decoder: missing {missing[:3]}"
                         f"{'…' if len(missing) > 3 else ''}, unexpected {unexpected[:3]}"
                         f"{'…' if len(unexpected) > 3 else ''} (expected keys dec4_1.weight … dec1_1.bias)")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ModelError(f"decoder file {file}: tensor {key} has shape {tuple(state[key].shape)}, "
                             f"expected {shape}")
    decoder = Decoder()
    decoder.load_flat_state(state)
    decoder.requires_grad_(False)
    return decoder.eval().to(device)


def label_map(mask: torch.Tensor, styles: int) -> torch.Tensor:
    """Turn a grey-level mask ``1,1,H,W`` (or ``H,W``) in [0,1] into labels ``H,W``: distinct levels, darkest = 0.

    Each distinct grey level (in 8-bit steps) is one region; region k takes style k (styles in command-line
    order). More levels than styles is an :class:`InputError`.
    """
    levels = (mask.reshape(mask.shape[-2:]) * 255).round().long()
    values, labels = torch.unique(levels, return_inverse=True)
    if len(values) > styles:
        raise InputError(f"the mask has {len(values)} grey levels (regions) but only {styles} style image(s) were "
                         f"given; use one grey level per style (darkest = first style)")
    return labels


@torch.no_grad()
def stylize_feedforward(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    *,
    method: str = "adain",
    decoder_path: "str | os.PathLike | None" = None,
    alpha: float = 1.0,
    blend: Optional[Sequence[float]] = None,
    mask: Optional[torch.Tensor] = None,
    preserve_color: bool = False,
    device="cpu",
) -> torch.Tensor:
    """Stylize ``content`` (``1,3,H,W`` in [0,1]) with ``styles`` (each ``1,3,h,w``); returns ``1,3,H,W`` in [0,1].

    ``method``: ``"adain"`` or ``"wct"``. ``alpha``: style strength in [0,1]. ``blend``: one weight per style
    (interpolation of the transformed features). ``mask``: ``1,1,H,W`` grey levels assigning regions to styles
    (see :func:`label_map`); cannot be combined with ``blend``. ``preserve_color`` keeps the content's colours
    (luminance-only transfer). The image is padded by reflection to a multiple of 8 px and cropped back.
    Models load once per process (cached), so time :func:`load_models` separately to split loading from work.
    """
    if mask is not None and tuple(mask.shape[-2:]) != tuple(content.shape[-2:]):
        raise InputError(f"mask size {mask.shape[-1]}x{mask.shape[-2]} does not match the content size "
                         f"{content.shape[-1]}x{content.shape[-2]}")
    labels = label_map(mask, len(styles)) if mask is not None else None
    encoder, decoder = load_models(decoder_path, device)
    device = torch.device(device)
    content = content.to(device)
    h, w = content.shape[-2:]
    # channels-last: oneDNN's fastest convolution layout on CPU (the conv outputs keep it, so the decoder does too)
    padded = _pad_to_multiple(content, UPSAMPLING).contiguous(memory_format=torch.channels_last)
    content_features = encoder(padded, [INPUT_LAYER])[INPUT_LAYER]
    style_features = [encoder(s.to(device).contiguous(memory_format=torch.channels_last), [INPUT_LAYER])[INPUT_LAYER]
                      for s in styles]
    if labels is not None:
        padded_labels = _pad_to_multiple(labels[None, None].float(), UPSAMPLING)[0, 0]
        labels = labels_at(padded_labels, tuple(content_features.shape[-2:]))
    features = transform_features(content_features, style_features, method, alpha, blend, labels)
    image = decoder(features)[..., :h, :w].clamp(0, 1)
    if preserve_color:
        image = luminance_transfer(image, content).clamp(0, 1)
    return image


def load_models(decoder_path: "str | os.PathLike | None" = None, device="cpu") -> "tuple[torch.nn.Module, Decoder]":
    """The (cached) VGG19 encoder and decoder for ``device``; the first call reads the weight files."""
    return load_vgg19(device), load_decoder(decoder_path, device)


def _pad_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflection-pad ``B,C,H,W`` on the bottom/right so that H and W are multiples of ``multiple``."""
    h, w = image.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h == 0 and pad_w == 0:
        return image
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return torch.nn.functional.pad(image, (0, pad_w, 0, pad_h), mode=mode)
