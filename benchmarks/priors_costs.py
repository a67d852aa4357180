"""Cost figures of the diffusion methods computed from Stable Diffusion 1.5's shapes (no weights, no GPU).

The networks are built on PyTorch's ``meta`` device from SD 1.5's published configuration values, so parameter
counts and weight memory are exact for that architecture; UNet evaluations follow from each method's defaults;
attention sizes from the latent grid at 512² (64×64 latents, 4096 tokens in the first decoder level). Nothing is
downloaded or run. Usage: ``python benchmarks/priors_costs.py``.
"""

import torch

SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280, 1280),
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                 cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32)
SD15_VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                layers_per_block=2, latent_channels=4, sample_size=512)
SD15_TEXT = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                 num_hidden_layers=12, max_position_embeddings=77)
GIB = 2 ** 30


def parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


SELF_ATTENTION_TOKENS = (64 * 64, 32 * 32, 16 * 16, 8 * 8)
"""Token counts of the UNet's attention levels at 512² (64×64 latents)."""


def saved_for_backward(run) -> "tuple[float, float]":
    """GiB autograd keeps for the backward of ``run()`` (on meta tensors: counted, not allocated), and the part
    of it that is square self-attention maps (kept by the math attention path; fused kernels keep none)."""
    total = maps = 0

    def pack(t):
        nonlocal total, maps
        size = t.numel() * t.element_size()
        total += size
        if t.dim() >= 2 and t.shape[-1] == t.shape[-2] and t.shape[-1] in SELF_ATTENTION_TOKENS:
            maps += size
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return total / GIB, maps / GIB


def main() -> None:
    import diffusers
    import transformers

    with torch.device("meta"):
        unet = diffusers.UNet2DConditionModel(**SD15_UNET)
        ip2p = diffusers.UNet2DConditionModel(**{**SD15_UNET, "in_channels": 8})
        vae = diffusers.AutoencoderKL(**SD15_VAE)
        text = transformers.CLIPTextModel(transformers.CLIPTextConfig(**SD15_TEXT))
    counts = {"unet": parameters(unet), "unet (InstructPix2Pix, 8 inputs)": parameters(ip2p),
              "vae": parameters(vae), "text encoder": parameters(text)}
    print("## weights (SD 1.5 shapes)")
    for name, n in counts.items():
        print(f"{name:34s} {n / 1e6:8.1f} M params  {2 * n / GIB:5.2f} GiB fp16")
    total = counts["unet"] + counts["vae"] + counts["text encoder"]
    print(f"{'SD 1.5 total':34s} {total / 1e6:8.1f} M params  {2 * total / GIB:5.2f} GiB fp16")

    print("\n## activations kept for one backward at 512², fp16, batch 1 (frozen weights)")
    with torch.device("meta"):
        unet16, vae16 = unet.half().requires_grad_(False), vae.half().requires_grad_(False)
        latents = torch.zeros(1, 4, 64, 64, dtype=torch.float16)
        embedding = torch.zeros(1, 77, 768, dtype=torch.float16, requires_grad=True)  # the learned token's path
        pixels = torch.zeros(1, 3, 512, 512, dtype=torch.float16, requires_grad=True)
        learn = saved_for_backward(lambda: unet16(latents, 500, encoder_hidden_states=embedding))
        sds = saved_for_backward(lambda: vae16.encode(pixels))
    print(f"learn-style: UNet forward+backward   {learn[0]:5.2f} GiB with materialised attention maps, "
          f"{learn[0] - learn[1]:5.2f} GiB with fused attention")
    print(f"SDS: VAE encoder forward+backward    {sds[0]:5.2f} GiB with materialised attention maps, "
          f"{sds[0] - sds[1]:5.2f} GiB with fused attention (no backward through the UNet)")

    steps, strength, frames, keyframe_every = 50, 0.6, 100, 4
    ip2p_steps, scene_steps, edit_every = 20, 3000, 10
    print("\n## UNet evaluations (batch rows), defaults")
    rows = {
        "learn-style (InST / ProSpect), 1000 steps": "1000 forward+backward, batch 1",
        "image --method inst (img2img, strength 0.6)": f"{int(steps * strength)} x 2 rows (guidance)",
        "generate --style-token": f"{steps} x 2 rows per image",
        "generate --style-ref (StyleAligned), P prompts": f"{steps} x 1 row (inversion) + {steps} x 2(P+1) rows",
        "SDS term (scene / svg --prompt)": "1 x 2 rows per optimisation step",
        "image --method styleid": f"{3 * steps} x 1 row (2 inversions + sampling)",
        "image --method zstar": f"{2 * steps} x 1 row (2 inversions) + {steps} x 3 rows",
        "image --instruct (20 steps)": f"{ip2p_steps} x 3 rows",
        f"video --instruct, {frames} frames, K={keyframe_every}": f"{frames // keyframe_every * ip2p_steps} x 3 rows",
        f"3D dataset update, {scene_steps} steps, every {edit_every}":
            f"~{scene_steps // edit_every * ip2p_steps // 2} x 3 rows (t ~ U(0.02, 0.98): half a schedule each)",
    }
    for name, value in rows.items():
        print(f"{name:52s} {value}")

    tokens, heads = 64 * 64, 8
    print("\n## attention at 512² (first decoder level: 4096 tokens, 8 heads, fp16)")
    print(f"self-attention map per row           {heads * tokens * tokens * 2 / GIB:5.2f} GiB if materialised "
          f"(scaled_dot_product_attention's fused kernels do not keep it)")
    print(f"Z-Star map per stylized row (2x keys) {heads * tokens * 2 * tokens * 2 / GIB:5.2f} GiB if materialised")
    dims = {0: 320, 1: 640, 2: 1280}
    styleid_layers = [(64 * 64, dims[0])] * 3 + [(32 * 32, dims[1])] * 2  # last five decoder self-attentions
    per_step = sum(3 * n * c for n, c in styleid_layers)  # q (content) + k, v (style)
    print(f"StyleID cache (q, k, v in 5 layers)  {per_step * 2 * steps / GIB:5.2f} GiB for {steps} steps")


if __name__ == "__main__":
    main()
