"""tiny-sao: the real StableAudioPipeline, shrunk, with the published checkpoint's audio geometry."""

from __future__ import annotations

import torch
from diffusers import CosineDPMSolverMultistepScheduler

from generation.backends.stable_audio.tiny import (
    HOP_LENGTH,
    MAX_TOKENS,
    SAMPLE_RATE,
    WINDOW_LATENTS,
    build_tiny_sao_pipeline,
)


def test_geometry_is_the_published_checkpoints() -> None:
    pipe = build_tiny_sao_pipeline()
    assert pipe.vae.config.sampling_rate == SAMPLE_RATE == 44_100
    assert pipe.vae.config.audio_channels == 2
    assert pipe.vae.hop_length == HOP_LENGTH == 2048
    assert pipe.transformer.config.sample_size == WINDOW_LATENTS == 1024
    assert round(WINDOW_LATENTS * HOP_LENGTH / SAMPLE_RATE, 2) == 47.55  # the model card's 47 s
    assert pipe.transformer.config.in_channels == pipe.vae.config.decoder_input_channels
    assert pipe.tokenizer.model_max_length == MAX_TOKENS
    assert (
        type(pipe.tokenizer).__name__.startswith("T5")
        and type(pipe.text_encoder).__name__ == "T5EncoderModel"
    )
    scheduler = pipe.scheduler
    assert isinstance(scheduler, CosineDPMSolverMultistepScheduler)
    assert scheduler.config.prediction_type == "v_prediction"
    assert (scheduler.config.sigma_min, scheduler.config.sigma_max) == (0.3, 500.0)
    assert not any(m.training for m in pipe.components.values() if isinstance(m, torch.nn.Module))


def test_the_same_seed_builds_the_same_weights() -> None:
    a, b, c = build_tiny_sao_pipeline(0), build_tiny_sao_pipeline(0), build_tiny_sao_pipeline(1)
    wa, wb, wc = (next(iter(p.transformer.parameters())) for p in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
