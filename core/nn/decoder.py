"""The AdaIN decoder: a mirror image of VGG19 up to ``relu4_1`` that turns features back into an image.

Layout (Huang & Belongie 2017): each 3×3 convolution of the encoder, in reverse order, with input and output
channels swapped; 2× nearest-neighbour upsampling where the encoder pools; reflection padding; ReLU after every
convolution except the last. About 3.5 M parameters. Layer names mirror the encoder's (``dec4_1`` undoes
``conv4_1`` …), so the safetensors keys read ``dec4_1.weight``, ``dec4_1.bias`` and so on.

Input: ``B,512,h,w`` raw ``relu4_1`` features of :mod:`core.nn.vgg` (Caffe scale, values up to a few thousand);
they are multiplied by :data:`FEATURE_SCALE` first so the network sees values of order 1.
Output: ``B,3,8h,8w`` RGB, about ``[0,1]`` but not clamped (training needs the raw values); clamp for display.
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_SCALE = 1.0 / 256.0
"""relu4_1 of the Caffe VGG19 has an RMS of several hundred on photos; this brings it to order 1."""

DECODER_LAYERS = (
    # (name, in_channels, out_channels, upsample_after)
    ("dec4_1", 512, 256, True),
    ("dec3_4", 256, 256, False),
    ("dec3_3", 256, 256, False),
    ("dec3_2", 256, 256, False),
    ("dec3_1", 256, 128, True),
    ("dec2_2", 128, 128, False),
    ("dec2_1", 128, 64, True),
    ("dec1_2", 64, 64, False),
    ("dec1_1", 64, 3, False),
)
"""The mirror of VGG19's convolutions conv1_1 … conv4_1; the last layer has no ReLU."""

INPUT_LAYER = "relu4_1"
INPUT_CHANNELS = DECODER_LAYERS[0][1]
UPSAMPLING = 8
"""Output side / feature side: three 2× upsamplings undo the three poolings before relu4_1."""


class Decoder(nn.Module):
    """Features ``B,512,h,w`` (raw relu4_1) → image ``B,3,8h,8w`` (about [0,1], unclamped)."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict(OrderedDict(
            (name, nn.Conv2d(c_in, c_out, kernel_size=3)) for name, c_in, c_out, _ in DECODER_LAYERS
        ))
        # Start near mid-grey so the first decoded images sit inside [0, 1].
        nn.init.constant_(self.convs[DECODER_LAYERS[-1][0]].bias, 0.5)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 4 or features.shape[1] != INPUT_CHANNELS:
            raise ValueError(f"decoder expects B,{INPUT_CHANNELS},h,w relu4_1 features, got {tuple(features.shape)}")
        x = features * FEATURE_SCALE
        last = DECODER_LAYERS[-1][0]
        for name, _, _, upsample in DECODER_LAYERS:
            x = self.convs[name](F.pad(x, (1, 1, 1, 1), mode="reflect"))
            if name != last:
                x = F.relu(x)
            if upsample:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return x

    def flat_state(self) -> "dict[str, torch.Tensor]":
        """Parameters keyed ``dec4_1.weight`` … (the safetensors layout), detached and contiguous."""
        return {key.removeprefix("convs."): value.detach().contiguous() for key, value in self.state_dict().items()}

    def load_flat_state(self, state: "dict[str, torch.Tensor]") -> None:
        """Inverse of :meth:`flat_state` (keys and shapes must match exactly)."""
        self.load_state_dict({f"convs.{key}": value.float() for key, value in state.items()})


def expected_shapes() -> "dict[str, tuple]":
    """Key → shape of every tensor a decoder file must hold."""
    shapes = {}
    for name, c_in, c_out, _ in DECODER_LAYERS:
        shapes[f"{name}.weight"] = (c_out, c_in, 3, 3)
        shapes[f"{name}.bias"] = (c_out,)
    return shapes


def parameter_count() -> int:
    """Number of trainable parameters of :class:`Decoder` (3,505,219)."""
    total = 0
    for shape in expected_shapes().values():
        n = 1
        for s in shape:
            n *= s
        total += n
    return total
