"""Floating-point work per clip of each full-size model, counted on the meta device (no memory).

    python -m bench.flops --duration 10

Prints, per model, the denoiser's work per step (the guided pair: conditional and unconditional
in one batch of two), the decoder's work per clip (VAE, and the vocoder for AudioLDM2) and the
total at a given number of steps. For Stable Audio Open the fitted-window figures show what a
window cut to the clip would save. Counting uses ``torch.utils.flop_counter`` (matrix products
and convolutions; elementwise work is not counted, so real time is somewhat higher).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any


def _count(fn: Callable[[], Any]) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e12


def audioldm2(duration_s: float) -> dict[str, float]:
    """TFLOP of the UNet per step and of VAE decode + vocoder per clip."""
    import torch

    from bench.full_size import build_full_pipeline, latent_shape

    pipe = build_full_pipeline("meta")
    shape = latent_shape(pipe, duration_s, batch_size=2)
    latents = torch.randn(shape, device="meta")
    gpt2 = torch.randn(2, 8, 768, device="meta")
    t5 = torch.randn(2, 16, 1024, device="meta")
    conditioning = {"encoder_hidden_states": gpt2, "encoder_hidden_states_1": t5}
    step = _count(lambda: pipe.unet(latents, torch.ones(1, device="meta"), **conditioning))
    mel = torch.randn(1, 1, shape[2] * pipe.vae_scale_factor, 64, device="meta")
    decode = _count(lambda: pipe.vae.decode(latents[:1])) + _count(lambda: pipe.vocoder(mel.squeeze(1)))
    return {"denoiser_per_step": step, "decode_per_clip": decode}


def stable_audio_open(latent_frames: int) -> dict[str, float]:
    """TFLOP of the DiT per step and of the VAE decode per clip, for a window of this many latents."""
    import torch
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    from bench.full_size_sao import build_full_sao_pipeline

    pipe = build_full_sao_pipeline("meta")
    dit = pipe.transformer
    latents = torch.randn(2, dit.config.in_channels, latent_frames, device="meta")
    text = torch.randn(2, 130, 768, device="meta")  # 128 T5 states and the start/end seconds
    seconds = torch.randn(2, 1, 1536, device="meta")
    # The pipeline's rotary embedding: over the latents plus the prepended seconds token.
    half_head = dit.config.attention_head_dim // 2
    rotary = get_1d_rotary_pos_embed(
        half_head, latent_frames + 1, use_real=True, repeat_interleave_real=False
    )
    rotary = tuple(r.to("meta") for r in rotary)
    conditioning = {
        "encoder_hidden_states": text,
        "global_hidden_states": seconds,
        "rotary_embedding": rotary,
    }
    step = _count(lambda: dit(latents, torch.ones(1, device="meta"), **conditioning, return_dict=False))
    decode = _count(lambda: pipe.vae.decode(latents[:1]))
    return {"denoiser_per_step": step, "decode_per_clip": decode}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flops", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="clip length in seconds (default 10)")
    parser.add_argument("--steps", type=int, default=50, help="steps for the per-clip total (default 50)")
    args = parser.parse_args(argv)
    fitted = math.ceil(args.duration * 44_100 / 2048)
    rows = [
        ("AudioLDM2", audioldm2(args.duration)),
        ("Stable Audio Open, 47.55 s window", stable_audio_open(1024)),
        (f"Stable Audio Open, {fitted * 2048 / 44_100:.2f} s window", stable_audio_open(fitted)),
    ]
    header = ["Denoiser TFLOP/step", "Decode TFLOP/clip", f"TFLOP/clip at {args.steps} steps"]
    print(f"| Model ({args.duration:g} s clip) | " + " | ".join(header) + " |")
    print("|---|---:|---:|---:|")
    for name, cost in rows:
        total = cost["denoiser_per_step"] * args.steps + cost["decode_per_clip"]
        print(f"| {name} | {cost['denoiser_per_step']:.3f} | {cost['decode_per_clip']:.2f} | {total:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
