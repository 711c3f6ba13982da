"""Benchmark prompts and in-memory tokenizers of the published sizes, for the full-size builds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from transformers import RobertaTokenizer, T5Tokenizer

from generation.backends.audioldm2.tiny import bpe_tokenizer, unigram_tokenizer
from generation.presets import DEFAULT_NEGATIVE_PROMPT, GENERIC_TEMPLATE, MURMUR_NEGATIVE_PROMPT, PRESETS

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


def corpus() -> list[str]:
    """Words the tokenizers learn whole: the presets' texts, the benchmark prompts, common words."""
    texts: list[str] = [GENERIC_TEMPLATE, DEFAULT_NEGATIVE_PROMPT, MURMUR_NEGATIVE_PROMPT, *AMBIENT_PROMPTS]
    for preset in PRESETS.values():
        texts += [preset.template, preset.negative_prompt, preset.example, *preset.keywords, *preset.aliases]
    words = [w for text in texts for w in re.findall(r"[A-Za-z]+", text)]
    return [*_COMMON_WORDS, *words]


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@cache
def roberta_tokenizer() -> RobertaTokenizer:
    """A byte-level BPE tokenizer of RoBERTa's size (50 265) that encodes known words as one token.

    Only words after a space are learnt, so the first word gets a prefix space too: chains of
    bare words would split one another (real BPE merges are learnt from statistics instead).
    """
    return bpe_tokenizer(
        unique(corpus()), max_tokens=ROBERTA_MAX_TOKENS, size=ROBERTA_VOCAB, add_prefix_space=True
    )


@cache
def t5_tokenizer() -> T5Tokenizer:
    """A unigram tokenizer of FLAN-T5's size (32 000 pieces + 100 sentinels), known words whole."""
    return unigram_tokenizer(
        [w.lower() for w in corpus()],
        max_tokens=T5_MAX_TOKENS,
        size=T5_TOKENIZER_VOCAB,
        extra_ids=T5_EXTRA_IDS,
    )
