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

    steps, strength, frames, keyframe_every = 50, 0.6, 100, 4
    ip2p_steps, scene_steps, edit_every = 20, 3000, 10
    print("\n## UNet evaluations (batch rows), defaults")
    rows = {
        "learn-style (InST / ProSpect), 1000 steps": "1000 forward+backward, batch 1",
        "image --method inst (img2img, strength 0.6)": f"{int(steps * strength)} x 2 rows (guidance)",
        "generate --style-token": f"{steps} x 2 rows per image",
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
