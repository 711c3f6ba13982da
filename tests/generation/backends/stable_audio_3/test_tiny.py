"""tiny-sa3: the real StableAudio3Pipeline, shrunk, with the published audio geometry."""

from __future__ import annotations

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from generation.backends.stable_audio_3.tiny import (
    HOP_LENGTH,
    MAX_TOKENS,
    SAMPLE_RATE,
    build_tiny_sa3_pipeline,
)


def test_geometry_is_the_published_one() -> None:
    pipe = build_tiny_sa3_pipeline()
    assert pipe.vae.config.sampling_rate == SAMPLE_RATE == 44_100
    assert pipe.vae.config.audio_channels == 2
    assert pipe.vae.downsampling_ratio == HOP_LENGTH == 4096
    assert type(pipe.text_encoder).__name__ == "T5GemmaEncoderModel"
    assert type(pipe.tokenizer).__name__.startswith("Gemma") and pipe.tokenizer.model_max_length == MAX_TOKENS
    assert pipe.transformer.config.use_differential_attention  # the published DiT's attention
    assert isinstance(pipe.scheduler, FlowMatchEulerDiscreteScheduler)
    assert pipe.scheduler.config.stochastic_sampling  # the distilled checkpoint's ping-pong sampler
    assert pipe.duration_embedder.config.max_val == 384.0


def test_no_output_layer_is_left_at_zero_and_weights_follow_the_seed() -> None:
    pipe = build_tiny_sa3_pipeline()
    for name in ("transformer", "vae"):
        for parameter_name, parameter in getattr(pipe, name).named_parameters():
            assert parameter.dim() < 2 or parameter.detach().any(), (name, parameter_name)
    a, b = build_tiny_sa3_pipeline(0), build_tiny_sa3_pipeline(1)
    assert not torch.equal(a.transformer.proj_in.weight, b.transformer.proj_in.weight)
    assert torch.equal(a.transformer.proj_in.weight, build_tiny_sa3_pipeline(0).transformer.proj_in.weight)
