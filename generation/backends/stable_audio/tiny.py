"""A tiny, randomly initialised Stable Audio Open pipeline built entirely in code (``tiny-sao``).

It runs the real diffusers ``StableAudioPipeline`` with every component shrunk to a few
thousand parameters, so tests and first runs get the whole Stable Audio path offline. The audio
geometry is the published checkpoint's: 44.1 kHz stereo, an Oobleck VAE that turns 2048 samples
into one latent (ratios 2·4·4·8·8), and a DiT window of 1024 latents — 47.55 s, which the
pipeline always denoises whole and crops to the asked duration afterwards. The scheduler is the
checkpoint's (cosine DPM-Solver++ 2M SDE, v-prediction, σ 0.3…500). The sound is noise-like.
"""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderOobleck,
    CosineDPMSolverMultistepScheduler,
    StableAudioDiTModel,
    StableAudioPipeline,
)
from diffusers.pipelines.stable_audio.modeling_stable_audio import StableAudioProjectionModel
from transformers import T5Config, T5EncoderModel

from generation.backends import library_warnings
from generation.backends.devices import eval_mode
from generation.backends.tokenizers import CORPUS, unigram_tokenizer

library_warnings.install()

SAMPLE_RATE = 44_100
CHANNELS = 2
#: Samples per latent frame: the product of the VAE's downsampling ratios.
DOWNSAMPLING_RATIOS = (2, 4, 4, 8, 8)
HOP_LENGTH = 2048
#: Latent frames the DiT denoises on every call (the published sample_size): 47.55 s of audio.
WINDOW_LATENTS = 1024
#: T5 input length (the checkpoint's tokenizer, as stable-audio-tools' T5 conditioner).
MAX_TOKENS = 128
LATENT_CHANNELS = 8
_TEXT_DIM = 32
#: Scale of the tiny VAE's output layer (see build_tiny_sao_pipeline).
OUTPUT_GAIN = 0.2


def make_scheduler() -> CosineDPMSolverMultistepScheduler:
    """The published checkpoint's scheduler configuration."""
    return CosineDPMSolverMultistepScheduler(
        sigma_min=0.3,
        sigma_max=500.0,
        sigma_data=1.0,
        sigma_schedule="exponential",
        solver_order=2,
        prediction_type="v_prediction",
        final_sigmas_type="zero",
    )


def build_tiny_sao_pipeline(seed: int = 0) -> StableAudioPipeline:
    """Build the tiny pipeline; the same ``seed`` always gives the same weights."""
    tokenizer = unigram_tokenizer(CORPUS, max_tokens=MAX_TOKENS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = T5EncoderModel(
            T5Config(
                vocab_size=len(tokenizer),
                d_model=_TEXT_DIM,
                d_kv=8,
                d_ff=32,
                num_layers=1,
                num_heads=2,
                relative_attention_num_buckets=8,
                feed_forward_proj="relu",  # t5-base's, as the checkpoint's encoder
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                decoder_start_token_id=tokenizer.pad_token_id,
            )
        )
        projection = StableAudioProjectionModel(
            text_encoder_dim=_TEXT_DIM, conditioning_dim=_TEXT_DIM, min_value=0, max_value=512
        )
        transformer = StableAudioDiTModel(
            sample_size=WINDOW_LATENTS,
            in_channels=LATENT_CHANNELS,
            num_layers=1,
            attention_head_dim=8,
            num_attention_heads=2,
            num_key_value_attention_heads=1,
            out_channels=LATENT_CHANNELS,
            cross_attention_dim=16,
            time_proj_dim=16,
            global_states_input_dim=2 * _TEXT_DIM,  # start and end seconds, side by side
            cross_attention_input_dim=_TEXT_DIM,
        )
        vae = AutoencoderOobleck(
            encoder_hidden_size=4,
            downsampling_ratios=list(DOWNSAMPLING_RATIOS),
            channel_multiples=[1, 2, 2, 4, 4],
            # The decoder's last stage runs at the full 44.1 kHz over the whole 47.55 s window:
            # two channels keep a call under a second on one CPU core.
            decoder_channels=2,
            decoder_input_channels=LATENT_CHANNELS,
            audio_channels=CHANNELS,
            sampling_rate=SAMPLE_RATE,
        )
        # Random weights decode to peaks of 2-3; a quieter last layer keeps the raw output in
        # [-1, 1] as a trained VAE's is (weight norm: the gain is its own parameter).
        vae.decoder.conv2.weight_g.data.mul_(OUTPUT_GAIN)
    pipe = StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=projection,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=make_scheduler(),
    )
    eval_mode(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe
