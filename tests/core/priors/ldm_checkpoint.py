"""Write a diffusers Stable Diffusion pipeline as one single-file checkpoint in the original (CompVis LDM) key
layout, so the tests can load it back through diffusers' ``from_single_file`` (which converts LDM keys to
diffusers keys). Only the renames are written here (facts of the two layouts); the conversion back is diffusers'.

UNet: ``model.diffusion_model.`` + ``input_blocks.{(L+1)·b + j + 1}.0|1`` for down block ``b``'s resnet/attention
``j`` (``L`` = layers per block; the downsampler at ``input_blocks.{(L+1)·(b+1)}.0.op``), ``middle_block.0|1|2``,
``output_blocks.{(L+1)·b + j}.0|1`` for up block ``b`` (the upsampler in the block's last entry, after the attention
when there is one); resnet parts ``in_layers.0/2`` (norm1/conv1), ``emb_layers.1``, ``out_layers.0/3``,
``skip_connection``. VAE: ``first_stage_model.`` + ``encoder.down.{i}.block.{j}``, ``decoder.up.{n−1−i}.block.{j}``
(decoder blocks in reverse order), ``mid.block_1|2``, ``mid.attn_1`` with ``norm/q/k/v/proj_out`` as 1×1 convs,
``nin_shortcut``, ``norm_out``. CLIP text model: ``cond_stage_model.transformer.text_model.`` + its own keys.
"""

import re


RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
          ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection"))
UNET_TOP = (("time_embedding.linear_1", "time_embed.0"), ("time_embedding.linear_2", "time_embed.2"),
            ("conv_in", "input_blocks.0.0"), ("conv_norm_out", "out.0"), ("conv_out", "out.2"))
VAE_ATTENTION = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def _resnet(rest: str) -> str:
    for new, old in RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new):]
    raise KeyError(rest)


def unet_key(key: str, layers: int, up_has_attention) -> str:
    """The LDM name of a diffusers UNet parameter ``key``."""
    for new, old in UNET_TOP:
        if key.startswith(new + "."):
            return old + key[len(new):]
    step = layers + 1
    for new, old, offset in (("down_blocks", "input_blocks", 1), ("up_blocks", "output_blocks", 0)):
        m = re.match(new + r"\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key)
        if m:
            b, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
            return f"{old}.{step * b + j + offset}." + (f"0.{_resnet(rest)}" if kind == "resnets" else f"1.{rest}")
    m = re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key)
    if m:
        return f"input_blocks.{step * (int(m[1]) + 1)}.0.op.{m[2]}"
    m = re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", key)
    if m:
        return f"middle_block.{2 * int(m[2])}.{_resnet(m[3])}" if m[1] == "resnets" else f"middle_block.1.{m[3]}"
    m = re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key)
    if m:
        b = int(m[1])
        return f"output_blocks.{step * b + layers}.{2 if up_has_attention(b) else 1}.conv.{m[2]}"
    raise KeyError(key)


def vae_key(key: str, blocks: int) -> str:
    """The LDM name of a diffusers VAE parameter ``key``."""
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    key = re.sub(r"encoder\.down_blocks\.(\d+)\.resnets\.", r"encoder.down.\1.block.", key)
    key = re.sub(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", key)
    key = re.sub(r"decoder\.up_blocks\.(\d+)\.(resnets|upsamplers\.0)\.",
                 lambda m: f"decoder.up.{blocks - 1 - int(m[1])}." + ("block." if m[2] == "resnets" else "upsample."),
                 key)
    key = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda m: f"mid.block_{int(m[1]) + 1}.", key)
    if "mid_block.attentions.0." in key:
        key = key.replace("mid_block.attentions.0.", "mid.attn_1.")
        for new, old in VAE_ATTENTION:
            key = key.replace(f"attn_1.{new}.", f"attn_1.{old}.")
    return key


def ldm_state_dict(pipe) -> dict:
    """All weights of ``pipe`` (UNet, VAE, CLIP text encoder) under their LDM single-file names."""
    unet_config = pipe.unet.config
    up_types = unet_config.up_block_types
    out = {}
    for key, value in pipe.unet.state_dict().items():
        name = unet_key(key, unet_config.layers_per_block, lambda b: "CrossAttn" in up_types[b])
        out["model.diffusion_model." + name] = value
    blocks = len(pipe.vae.config.block_out_channels)
    for key, value in pipe.vae.state_dict().items():
        name = vae_key(key, blocks)
        if ".attn_1." in name and name.endswith("weight") and value.ndim == 2:
            value = value[:, :, None, None]  # LDM's VAE attention projections are 1×1 convolutions
        out["first_stage_model." + name] = value
    for key, value in pipe.text_encoder.state_dict().items():
        key = key if key.startswith("text_model.") else "text_model." + key
        out["cond_stage_model.transformer." + key] = value
    return {k: v.detach().contiguous() for k, v in out.items()}


def write_single_file(pipe, path) -> None:
    """Save :func:`ldm_state_dict` of ``pipe`` as one ``.safetensors`` file."""
    from safetensors.torch import save_file

    save_file({k: v.cpu() for k, v in ldm_state_dict(pipe).items()}, str(path))
