"""A tiny, randomly initialised AudioLDM2 pipeline built entirely in code.

It runs the real ``diffusers`` AudioLDM2 pipeline code with every component shrunk (a few
thousand parameters each), so tests, CI and first-time users get the whole request → audio
path offline in seconds. The audio geometry matches the real checkpoint — 16 kHz output, 64 mel
bins, hop 160 (100 mel frames per second), VAE scale factor 4 with 8 latent channels — so
durations, latent shapes and batching behave exactly as in production. The sound itself is
noise-like: the weights are random.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
)
from tokenizers import pre_tokenizers
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

from generation.settings import TINY_MODEL_ID

__all__ = ["TINY_MODEL_ID", "bpe_tokenizer", "build_tiny_pipeline", "unigram_tokenizer"]

SAMPLE_RATE = 16_000
MEL_BINS = 64
HOP_LENGTH = 160
LATENT_CHANNELS = 8
_MAX_TOKENS = 77

# Words the tiny tokenizers learn as whole tokens; anything else falls back to characters/bytes.
_CORPUS = """
high quality recording ambient soundscape field recording stereo calm relaxing gentle soft distant
close loud quiet deep low high night day dawn morning evening storm rain raining rainfall drops
droplets tin roof window thunder thunderstorm lightning wind windy breeze gusts howling ocean sea
waves beach shore surf seagulls forest woods trees leaves rustling crickets owls frogs insects
fire fireplace crackling campfire logs embers river stream brook creek water flowing babbling
waterfall birds birdsong chirping singing cafe coffee shop murmur chatter cups city street traffic
cars horns footsteps crowd space drone cosmic hum synth pad underwater bubbles train rails
station snow blizzard cave dripping echo music voices speech low quality distorted noise hiss
clicks with and of a an the on in at under over through by from to for into
""".split()


def bpe_tokenizer(
    words: Iterable[str], *, max_tokens: int, size: int | None = None, add_prefix_space: bool = False
) -> RobertaTokenizer:
    """A byte-level BPE tokenizer in RoBERTa's format that encodes each of ``words`` as one token.

    ``size`` pads the vocabulary with unreachable entries up to a real model's embedding size.
    """
    # Byte-level alphabet as GPT-2/RoBERTa encode it, so any UTF-8 text (emoji, RTL) tokenizes.
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(["<s>", "<pad>", "</s>", "<unk>"])}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(ch, len(vocab))
    # Deterministic merges: build each word ("Ġ"-prefixed as after a space) left to right.
    merges: list[tuple[str, str]] = []
    for word in words:
        pieces = list("Ġ" + word)
        current = pieces[0]
        for nxt in pieces[1:]:
            merged = current + nxt
            if merged not in vocab:
                vocab[merged] = len(vocab)
                merges.append((current, nxt))
            current = merged
    for i in range((size or 0) - 1 - len(vocab)):
        vocab[f"<unused{i}>"] = len(vocab)
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(
        vocab=vocab, merges=merges, model_max_length=max_tokens, add_prefix_space=add_prefix_space
    )


def unigram_tokenizer(
    words: Iterable[str], *, max_tokens: int, size: int | None = None, extra_ids: int = 0
) -> T5Tokenizer:
    """A unigram tokenizer in T5's format that encodes each of ``words`` as one piece.

    ``size`` pads the pieces with unreachable entries up to a real model's vocabulary.
    """
    counts = Counter(words)
    total = sum(counts.values())
    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁" + word, math.log(count / total)) for word, count in sorted(counts.items())]
    seen = {piece for piece, _ in vocab}
    # Single characters (ASCII printable, plus the word-start marker) keep any text encodable.
    for ch in ["▁", *(chr(c) for c in range(33, 127))]:
        if ch not in seen:
            vocab.append((ch, -20.0))
            seen.add(ch)
    vocab += [(f"<unused{i}>", -100.0) for i in range((size or 0) - len(vocab))]
    return T5Tokenizer(vocab=vocab, extra_ids=extra_ids, model_max_length=max_tokens)


def build_tiny_pipeline(seed: int = 0) -> AudioLDM2Pipeline:
    """Build the tiny pipeline; the same ``seed`` always gives the same weights."""
    tokenizer = bpe_tokenizer(_CORPUS, max_tokens=_MAX_TOKENS)
    tokenizer_2 = unigram_tokenizer(_CORPUS, max_tokens=_MAX_TOKENS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clap = ClapModel(
            ClapConfig(
                text_config=ClapTextConfig(
                    vocab_size=len(tokenizer),
                    hidden_size=16,
                    intermediate_size=32,
                    num_attention_heads=2,
                    num_hidden_layers=1,
                    max_position_embeddings=_MAX_TOKENS + 4,
                    pad_token_id=tokenizer.pad_token_id,
                    bos_token_id=tokenizer.bos_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                    projection_dim=16,
                ).to_dict(),
                audio_config=ClapAudioConfig(
                    spec_size=64,
                    window_size=4,
                    num_mel_bins=64,
                    intermediate_size=32,
                    depths=[1, 1],
                    num_attention_heads=[2, 2],
                    num_hidden_layers=2,
                    hidden_size=32,
                    patch_size=2,
                    patch_stride=2,
                    patch_embeds_hidden_size=16,
                    projection_dim=16,
                    enable_fusion=False,
                ).to_dict(),
                projection_dim=16,
            )
        )
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
    feature_extractor = ClapFeatureExtractor(
        feature_size=64, sampling_rate=48_000, hop_length=480, max_length_s=1, fft_window_size=1024
    )
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
    # Freshly constructed modules start in training mode (dropout on); from_pretrained would
    # have switched them to eval, so do the same for deterministic inference.
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval()
    pipe.set_progress_bar_config(disable=True)
    return pipe
