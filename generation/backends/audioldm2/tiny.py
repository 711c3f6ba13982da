"""A tiny, randomly initialised AudioLDM2 pipeline built entirely in code.

It runs the real ``diffusers`` AudioLDM2 pipeline code with every component shrunk (a few
thousand parameters each), so tests, CI and first-time users get the whole request → audio
path offline in seconds. The audio geometry matches the real checkpoint — 16 kHz output, 64 mel
bins, hop 160 (100 mel frames per second), VAE scale factor 4 with 8 latent channels — so
durations, latent shapes and batching behave exactly as in production. The sound itself is
noise-like: the weights are random.
"""

from __future__ import annotations

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
)
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
    T5Config,
    T5EncoderModel,
)

from generation.backends.clap import tiny_clap_model, tiny_feature_extractor
from generation.backends.devices import eval_mode
from generation.backends.tokenizers import CORPUS, bpe_tokenizer, unigram_tokenizer
from generation.settings import TINY_MODEL_ID

# The tokenizer builders moved to generation.backends.tokenizers (shared by every tiny build);
# they stay importable from here.
__all__ = ["TINY_MODEL_ID", "bpe_tokenizer", "build_tiny_pipeline", "unigram_tokenizer"]

SAMPLE_RATE = 16_000
MEL_BINS = 64
HOP_LENGTH = 160
LATENT_CHANNELS = 8
_MAX_TOKENS = 77


def build_tiny_pipeline(seed: int = 0) -> AudioLDM2Pipeline:
    """Build the tiny pipeline; the same ``seed`` always gives the same weights."""
    tokenizer = bpe_tokenizer(CORPUS, max_tokens=_MAX_TOKENS)
    tokenizer_2 = unigram_tokenizer(CORPUS, max_tokens=_MAX_TOKENS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clap = tiny_clap_model(tokenizer)
        t5 = T5EncoderModel(
            T5Config(
                vocab_size=len(tokenizer_2),
                d_model=32,
                d_kv=8,
                d_ff=32,
                num_layers=1,
                num_heads=2,
                relative_attention_num_buckets=8,
                feed_forward_proj="gated-gelu",
                pad_token_id=tokenizer_2.pad_token_id,
                eos_token_id=tokenizer_2.eos_token_id,
                decoder_start_token_id=tokenizer_2.pad_token_id,
            )
        )
        gpt2_config = GPT2Config(
            n_embd=16, n_head=2, n_layer=1, n_positions=128, vocab_size=64, bos_token_id=0, eos_token_id=0
        )
        gpt2_config.max_new_tokens = 8  # the pipeline reads it when no max_new_tokens is passed
        language_model = GPT2LMHeadModel(gpt2_config)
        projection = AudioLDM2ProjectionModel(
            text_encoder_dim=16, text_encoder_1_dim=32, langauge_model_dim=16
        )
        unet = AudioLDM2UNet2DConditionModel(
            sample_size=(64, MEL_BINS // 4),
            in_channels=LATENT_CHANNELS,
            out_channels=LATENT_CHANNELS,
            block_out_channels=(8, 8, 16, 32),
            layers_per_block=1,
            norm_num_groups=8,
            # Attention only at the coarsest level (and the mid block): its cost grows with the
            # square of the clip length, and CPU tests render up to 30 s.
            down_block_types=("DownBlock2D", "DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"),
            # Per block: self-attention, then cross-attention to GPT-2 (16) and to T5 (32), as the real UNet.
            cross_attention_dim=((None, 16, 32),) * 4,
            attention_head_dim=8,
        )
        vae = AutoencoderKL(
            in_channels=1,
            out_channels=1,
            latent_channels=LATENT_CHANNELS,
            block_out_channels=(8, 16, 16),
            down_block_types=("DownEncoderBlock2D",) * 3,
            up_block_types=("UpDecoderBlock2D",) * 3,
            layers_per_block=1,
            norm_num_groups=8,
            sample_size=64,
            # The VAE's mid-block attention spans every latent pixel of the clip: too slow on CPU.
            mid_block_add_attention=False,
        )
        vocoder = SpeechT5HifiGan(
            SpeechT5HifiGanConfig(
                model_in_dim=MEL_BINS,
                sampling_rate=SAMPLE_RATE,
                upsample_initial_channel=16,
                upsample_rates=[10, 16],
                upsample_kernel_sizes=[20, 32],
                resblock_kernel_sizes=[3],
                resblock_dilation_sizes=[[1, 3]],
                normalize_before=False,
                # HiFi-GAN's default init (0.01) shrinks the signal at every layer to ~1e-5;
                # 0.1 gives peaks around 0.1-0.3, audible and far from clipping.
                initializer_range=0.1,
            )
        )
    scheduler = DDIMScheduler(
        beta_start=0.0015,
        beta_end=0.0195,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    feature_extractor = tiny_feature_extractor()
    pipe = AudioLDM2Pipeline(
        vae=vae,
        text_encoder=clap,
        text_encoder_2=t5,
        projection_model=projection,
        language_model=language_model,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        feature_extractor=feature_extractor,
        unet=unet,
        scheduler=scheduler,
        vocoder=vocoder,
    )
    eval_mode(pipe)  # deterministic inference, as from_pretrained would leave it
    pipe.set_progress_bar_config(disable=True)
    return pipe
