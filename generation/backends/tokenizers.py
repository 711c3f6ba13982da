"""Tokenizers built in memory, in the formats of the real models' tokenizers, for the tiny builds.

The published tokenizers are downloads; these are made from a word list in milliseconds, offline,
and each listed word becomes one token (anything else falls back to characters or bytes, so any
text still encodes). Three formats: byte-level BPE as RoBERTa/GPT-2 (CLAP's text branch), a
unigram model as T5's SentencePiece (AudioLDM2's and Stable Audio Open's T5), and byte-fallback
BPE as Gemma's (Stable Audio 3's T5Gemma).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from tokenizers import pre_tokenizers
from transformers import GemmaTokenizer, RobertaTokenizer, T5Tokenizer

# Words the tiny tokenizers learn as whole tokens; anything else falls back to characters/bytes.
CORPUS: tuple[str, ...] = tuple(
    """
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
)

#: SentencePiece's word-start marker (a space before the word).
WORD_START = "▁"


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
        _merge_word(list("Ġ" + word), vocab, merges)
    for i in range((size or 0) - 1 - len(vocab)):
        vocab[f"<unused{i}>"] = len(vocab)
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(
        vocab=vocab, merges=merges, model_max_length=max_tokens, add_prefix_space=add_prefix_space
    )


def _merge_word(pieces: list[str], vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """Add the merges that build ``pieces`` into one token, left to right."""
    current = pieces[0]
    for nxt in pieces[1:]:
        merged = current + nxt
        if merged not in vocab:
            vocab[merged] = len(vocab)
            merges.append((current, nxt))
        current = merged


def unigram_tokenizer(
    words: Iterable[str], *, max_tokens: int, size: int | None = None, extra_ids: int = 0
) -> T5Tokenizer:
    """A unigram tokenizer in T5's format that encodes each of ``words`` as one piece.

    ``size`` pads the pieces with unreachable entries up to a real model's vocabulary.
    """
    counts = Counter(words)
    total = sum(counts.values())
    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(WORD_START + word, math.log(count / total)) for word, count in sorted(counts.items())]
    seen = {piece for piece, _ in vocab}
    # Single characters (ASCII printable, plus the word-start marker) keep any text encodable.
    for ch in [WORD_START, *(chr(c) for c in range(33, 127))]:
        if ch not in seen:
            vocab.append((ch, -20.0))
            seen.add(ch)
    vocab += [(f"<unused{i}>", -100.0) for i in range((size or 0) - len(vocab))]
    return T5Tokenizer(vocab=vocab, extra_ids=extra_ids, model_max_length=max_tokens)


def gemma_tokenizer(words: Iterable[str], *, max_tokens: int, size: int | None = None) -> GemmaTokenizer:
    """A byte-fallback BPE tokenizer in Gemma's format that encodes each of ``words`` as one token.

    Gemma marks spaces with "▁" and adds no space before the first word, so every word is learnt
    both with and without the marker; unknown characters fall back to their UTF-8 bytes. The
    marked forms' merges come first: they only ever extend a piece that starts with "▁", so no
    word's merges can split another's; a bare first word may come out in a few pieces.
    """
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"])}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for ch in [WORD_START, *(chr(c) for c in range(33, 127))]:
        vocab.setdefault(ch, len(vocab))
    merges: list[tuple[str, str]] = []
    unique = list(dict.fromkeys(words))
    for form in [WORD_START + word for word in unique] + unique:
        pieces = list(form)
        for piece in pieces:
            vocab.setdefault(piece, len(vocab))
        _merge_word(pieces, vocab, merges)
    for i in range((size or 0) - len(vocab)):
        vocab[f"<unused{i}>"] = len(vocab)
    return GemmaTokenizer(vocab=vocab, merges=merges, model_max_length=max_tokens)
