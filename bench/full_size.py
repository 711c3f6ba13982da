"""The full-size ``cvssp/audioldm2`` architecture with random weights, built entirely in code.

Inference cost depends on the architecture and the tensor shapes, not on the weight values, so a
randomly initialised copy of the published model times exactly like the real one — without the
4.5 GB download (and on machines that cannot reach the Hugging Face hub at all).

Every size below is taken from the published checkpoint: the diffusers conversion script's
defaults for AudioLDM2 base (UNet, VAE, vocoder, GPT-2 sequence length), ``laion/clap-htsat-unfused``
widened as AudioLDM2 does (CLAP), ``google/flan-t5-large`` (T5) and ``gpt2`` (GPT-2). The audio
geometry is the production one: 16 kHz, 64 mel bins, hop 160, VAE scale factor 4, 8 latent
channels, so a 10 s clip is a (B, 8, 250, 16) latent. About 1.12 B parameters in all.

Build on ``device="meta"`` to inspect shapes and parameter counts without allocating memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
)
from diffusers.utils import logging as diffusers_logging
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapTextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    RobertaTokenizer,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

from generation.backends.audioldm2.tiny import bpe_tokenizer, unigram_tokenizer
from generation.presets import DEFAULT_NEGATIVE_PROMPT, GENERIC_TEMPLATE, MURMUR_NEGATIVE_PROMPT, PRESETS

FULL_MODEL_NAME = "cvssp/audioldm2 (architecture, random weights)"
SAMPLE_RATE = 16_000
MEL_BINS = 64
LATENT_CHANNELS = 8
#: The published total ("1.1B" in the model card); the build must land within this range.
EXPECTED_PARAMETERS = (1.05e9, 1.20e9)

#: RoBERTa-base's vocabulary (CLAP text branch) and its padded length: the pipeline pads CLAP
#: input to ``model_max_length`` ("max_length" padding), so every prompt costs 512 tokens there.
ROBERTA_VOCAB = 50_265
ROBERTA_MAX_TOKENS = 512
#: FLAN-T5's SentencePiece vocabulary (32 000) plus 100 sentinel tokens; the model's embedding
#: table is padded to 32 128 rows. AudioLDM2 truncates T5 input at 128 tokens.
T5_TOKENIZER_VOCAB = 32_000
T5_EXTRA_IDS = 100
T5_MODEL_VOCAB = 32_128
T5_MAX_TOKENS = 128
#: GPT-2 generates this many "audio tokens" per prompt (``sequence_gen_length`` of the original).
GPT2_NEW_TOKENS = 8

#: Realistic user prompts for ambient soundscapes (each matches a preset or the generic template).
AMBIENT_PROMPTS: tuple[str, ...] = (
    "gentle rain on a tin roof at night",
    "distant thunder rolling over heavy rain",
    "waves rolling onto a sandy beach with seagulls",
    "a forest at night with an owl hooting and crickets",
    "a crackling fire in a stone fireplace",
    "a mountain stream babbling over rocks",
    "wind howling across an empty plain",
    "a busy coffee shop on a rainy morning",
    "a city street at rush hour with distant traffic",
    "birds singing at dawn in a meadow",
    "drifting through a nebula, deep cosmic drone",
    "crickets in a warm summer meadow after sunset",
    "whales singing deep underwater",
    "a train rolling through the countryside at night",
    "soft snowfall in a quiet pine forest",
    "a campfire by a lake with frogs croaking",
)

# Everyday words of ambient prompts, on top of the preset texts: the in-memory tokenizers learn
# them as whole tokens, as the real ones do, so prompts get realistic token counts.
_COMMON_WORDS = """
a an the and or of on in at to from with by over under through across into onto near far after before
while during is are was be it its this that these those my your our their some many few more most very
soft gentle quiet calm peaceful relaxing soothing warm cold cool hot deep low high distant close loud
heavy light steady slow fast rhythmic constant occasional distinct natural immersive ambient sound
sounds soundscape recording field stereo quality background foreground noise hum drone texture
rain rainy raindrops drizzle storm thunder lightning wind breeze gust snow snowfall blizzard ice fog
ocean sea waves beach shore surf tide harbor boat ship seagulls gulls whales dolphins underwater
forest woods jungle trees leaves branches pine grass meadow field garden park mountain hill valley
cave desert plain lake river stream brook creek waterfall water pond frogs toads insects crickets
cicadas bees birds birdsong owl owls crows ducks wolves dog cat horse cows sheep animals night day
dawn dusk morning evening afternoon midnight sunset sunrise summer winter autumn spring fire campfire
fireplace crackling logs embers candle city street traffic cars car horns sirens bus train tram
subway station airport crowd people footsteps chatter murmur talking laughter cafe coffee shop
restaurant kitchen cups plates clock ticking office keyboard library pages space cosmic nebula stars
synth pad music voices voice speech vocals drums percussion distorted clipping hiss static clicks
rolling crashing babbling flowing dripping howling whistling rustling chirping singing hooting
croaking buzzing humming rumbling pattering falling blowing drifting walking busy empty old new
stone wooden metal glass tin roof window door house room hall church temple village countryside
""".split()


def clap_config() -> ClapConfig:
    """``laion/clap-htsat-unfused`` (RoBERTa-base text branch) with AudioLDM2's wider HTSAT."""
    text = ClapTextConfig(
        vocab_size=ROBERTA_VOCAB,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=ROBERTA_MAX_TOKENS + 2,  # RoBERTa offsets positions by the pad id
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        projection_dim=512,
        projection_hidden_act="relu",
    )
    audio = ClapAudioConfig(
        spec_size=256,
        window_size=8,
        num_mel_bins=64,
        patch_size=4,
        patch_stride=[4, 4],
        # AudioLDM2 widens the stock HTSAT (96 / 768 / [2, 2, 6, 2]).
        patch_embeds_hidden_size=128,
        hidden_size=1024,
        depths=[2, 2, 12, 2],
        num_attention_heads=[4, 8, 16, 32],
        enable_fusion=False,
        projection_dim=512,
        projection_hidden_act="relu",
    )
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=512)


def t5_config() -> T5Config:
    """``google/flan-t5-large`` (only its encoder is used)."""
    return T5Config(
        vocab_size=T5_MODEL_VOCAB,
        d_model=1024,
        d_kv=64,
        d_ff=2816,
        num_layers=24,
        num_decoder_layers=24,
        num_heads=16,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu",
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )


def gpt2_config() -> GPT2Config:
    """GPT-2 base (124 M), as AudioLDM2's language model."""
    config = GPT2Config(
        vocab_size=50_257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, bos_token_id=50_256
    )
    config.eos_token_id = 50_256
    # The pipeline reads it when the caller passes no max_new_tokens (the checkpoint stores it).
    config.max_new_tokens = GPT2_NEW_TOKENS
    return config


def unet_kwargs() -> dict[str, Any]:
    """AudioLDM2 base UNet (350 M): model channels 128 × (1, 2, 3, 5), attention at 3 of 4 levels."""
    return {
        "sample_size": 256,  # unused: the pipeline derives the latent height from the duration
        "in_channels": LATENT_CHANNELS,
        "out_channels": LATENT_CHANNELS,
        "block_out_channels": (128, 256, 384, 640),
        "layers_per_block": 2,
        "down_block_types": (
            "DownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
        ),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "transformer_layers_per_block": 1,
        # Per transformer block: self-attention, cross-attention to GPT-2 (768), then to T5 (1024).
        "cross_attention_dim": ((None, 768, 1024),) * 4,
        "attention_head_dim": 8,  # diffusers' default, as in the converted checkpoint
    }


def vae_kwargs() -> dict[str, Any]:
    """The mel-spectrogram VAE: channels 128 × (1, 2, 4), 8 latent channels, scale factor 4."""
    return {
        "sample_size": 1024,
        "in_channels": 1,
        "out_channels": 1,
        "latent_channels": LATENT_CHANNELS,
        "block_out_channels": (128, 256, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 3,
        "up_block_types": ("UpDecoderBlock2D",) * 3,
        "layers_per_block": 2,
        # The real value is learnt (scale_by_std); it is a scalar multiply and does not affect cost.
        "scaling_factor": 1.0,
    }


def vocoder_config() -> SpeechT5HifiGanConfig:
    """HiFi-GAN, 64 mel bins → 16 kHz (hop 160 = 5·4·2·2·2)."""
    return SpeechT5HifiGanConfig(
        model_in_dim=MEL_BINS,
        sampling_rate=SAMPLE_RATE,
        upsample_initial_channel=1024,
        upsample_rates=[5, 4, 2, 2, 2],
        upsample_kernel_sizes=[16, 16, 8, 4, 4],
        resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        normalize_before=False,
    )


def make_scheduler() -> DDIMScheduler:
    """The checkpoint's default DDIM scheduler (epsilon prediction)."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.0015,
        beta_end=0.0195,
        beta_schedule="scaled_linear",
        steps_offset=1,
        clip_sample=False,
        set_alpha_to_one=False,
        prediction_type="epsilon",
    )


def make_feature_extractor() -> ClapFeatureExtractor:
    """CLAP's 48 kHz log-mel front end (only used to rank several waveforms per prompt)."""
    return ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=48_000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14_000,
        padding="repeatpad",
        truncation="rand_trunc",
    )


def _corpus() -> list[str]:
    """Words the tokenizers learn whole: the presets' texts, the benchmark prompts, common words."""
    texts: list[str] = [GENERIC_TEMPLATE, DEFAULT_NEGATIVE_PROMPT, MURMUR_NEGATIVE_PROMPT, *AMBIENT_PROMPTS]
    for preset in PRESETS.values():
        texts += [preset.template, preset.negative_prompt, preset.example, *preset.keywords, *preset.aliases]
    words = [w for text in texts for w in re.findall(r"[A-Za-z]+", text)]
    return [*_COMMON_WORDS, *words]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@cache
def roberta_tokenizer() -> RobertaTokenizer:
    """A byte-level BPE tokenizer of RoBERTa's size (50 265) that encodes known words as one token.

    Only words after a space are learnt, so the first word gets a prefix space too: chains of
    bare words would split one another (real BPE merges are learnt from statistics instead).
    """
    return bpe_tokenizer(
        _unique(_corpus()), max_tokens=ROBERTA_MAX_TOKENS, size=ROBERTA_VOCAB, add_prefix_space=True
    )


@cache
def t5_tokenizer() -> T5Tokenizer:
    """A unigram tokenizer of FLAN-T5's size (32 000 pieces + 100 sentinels), known words whole."""
    return unigram_tokenizer(
        [w.lower() for w in _corpus()],
        max_tokens=T5_MAX_TOKENS,
        size=T5_TOKENIZER_VOCAB,
        extra_ids=T5_EXTRA_IDS,
    )


def _build_models() -> dict[str, torch.nn.Module]:
    """Every neural component, on the current default device, in float32."""
    language_model = GPT2LMHeadModel(gpt2_config())
    return {
        "text_encoder": ClapModel(clap_config()),
        "text_encoder_2": T5EncoderModel(t5_config()),
        "projection_model": AudioLDM2ProjectionModel(
            text_encoder_dim=512, text_encoder_1_dim=1024, langauge_model_dim=768
        ),
        "language_model": language_model,
        "unet": AudioLDM2UNet2DConditionModel(**unet_kwargs()),
        "vae": AutoencoderKL(**vae_kwargs()),
        "vocoder": SpeechT5HifiGan(vocoder_config()),
    }


def _cast(models: Iterable[torch.nn.Module], dtype: torch.dtype) -> None:
    """Cast in place, without diffusers' warning about fp32-only modules (these models have none)."""
    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        for model in models:
            model.to(dtype=dtype)
    finally:
        diffusers_logging.set_verbosity(verbosity)


def build_full_pipeline(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> AudioLDM2Pipeline:
    """The full-size pipeline with random weights, built directly on ``device``.

    Initialising on the target device avoids a 4.5 GB float32 copy on the host (and is much
    faster on a GPU). ``device="meta"`` allocates nothing: use it to count parameters.
    """
    device = torch.device(device)
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices), device:
        torch.manual_seed(seed)
        models = _build_models()
    if dtype != torch.float32 and device.type != "meta":
        _cast(models.values(), dtype)
    for model in models.values():
        model.eval()  # fresh modules train (dropout on); from_pretrained would return eval mode
    pipe = AudioLDM2Pipeline(
        **models,
        tokenizer=roberta_tokenizer(),
        tokenizer_2=t5_tokenizer(),
        feature_extractor=make_feature_extractor(),
        scheduler=make_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def parameter_counts(pipe: AudioLDM2Pipeline) -> dict[str, int]:
    """Parameters per neural component (tied weights counted once) and their ``"total"``."""
    counts = {
        name: sum(p.numel() for p in component.parameters())
        for name, component in pipe.components.items()
        if isinstance(component, torch.nn.Module)
    }
    counts["total"] = sum(counts.values())
    return counts


def check_parameter_count(pipe: AudioLDM2Pipeline) -> int:
    """The total parameter count; raises ``ValueError`` unless it is the published ~1.1 B."""
    total = parameter_counts(pipe)["total"]
    low, high = EXPECTED_PARAMETERS
    if not low <= total <= high:
        raise ValueError(
            f"full-size build has {total / 1e9:.3f} B parameters, expected {low / 1e9}-{high / 1e9} B"
        )
    return total


def latent_shape(
    pipe: AudioLDM2Pipeline, duration_s: float, batch_size: int = 1
) -> tuple[int, int, int, int]:
    """The UNet's latent shape for ``batch_size`` clips of ``duration_s`` (as the pipeline computes it)."""
    scale = pipe.vae_scale_factor
    seconds_per_frame = math.prod(pipe.vocoder.config.upsample_rates) / pipe.vocoder.config.sampling_rate
    frames = int(duration_s / seconds_per_frame)
    frames = math.ceil(frames / scale) * scale  # the pipeline rounds up, then trims the audio
    return (
        batch_size,
        pipe.unet.config.in_channels,
        frames // scale,
        pipe.vocoder.config.model_in_dim // scale,
    )
