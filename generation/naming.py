"""File names for generated clips: short, ASCII, safe on every file system and in Discord."""

from __future__ import annotations

import re
import unicodedata

FALLBACK_SLUG = "soundscape"


def slugify(text: str, max_len: int = 40) -> str:
    """``text`` as a lower-case ASCII slug: "Rain with crickets!" → "rain-with-crickets".

    Accents are folded ("Café" → "cafe"); what has no ASCII form (emoji, CJK) is dropped. A slug
    longer than ``max_len`` is cut at a word boundary when one exists. An empty result becomes
    "soundscape".
    """
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    # casefold first so "ß" becomes "ss" before the ASCII fold would drop it.
    ascii_text = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_len:
        cut = slug[:max_len]
        # Cutting mid-word leaves a fragment; drop it unless it is the only word.
        if slug[max_len] != "-" and "-" in cut:
            cut = cut[: cut.rindex("-")]
        slug = cut.strip("-")
    return slug or FALLBACK_SLUG[:max_len]


# A scene's layer: its words, then an optional "@model" and ":level" (either order).
_LAYER_TAIL = re.compile(r"\s*(@[^\s@:+]+|:\s*[-+]?[\d.,]+%?)\s*$")
#: Longest slug of a file name (a scene's layers share it).
FILENAME_SLUG_MAX = 60


def scene_slug(text: str, max_len: int = FILENAME_SLUG_MAX) -> str:
    """A layered scene ("rain:0.8 + distant thunder@tiny-sao + crickets") as one slug naming every
    layer it can hold: "rain_distant-thunder_crickets". Layers that don't fit are counted
    ("rain_distant-thunder_and-3-more"), never silently dropped; the first is always there."""
    names = []
    for part in text.split("+"):
        words = part.strip()
        while (tail := _LAYER_TAIL.search(words)) and tail.start() > 0:
            words = words[: tail.start()]
        names.append(slugify(words, max_len))
    names = [n for n in names if n != FALLBACK_SLUG] or [FALLBACK_SLUG]
    for keep in range(len(names), 0, -1):
        rest = len(names) - keep
        slug = "_".join(names[:keep]) + (f"_and-{rest}-more" if rest else "")
        if len(slug) <= max_len or keep == 1:
            return slug[:max_len].strip("-_") or FALLBACK_SLUG
    raise AssertionError("unreachable")


def mp3_filename(text: str, seed: int) -> str:
    """The attachment name for a clip: "rain-with-crickets-1234.mp3"; a layered scene names its
    layers: "rain_distant-thunder_crickets-1234.mp3"."""
    slug = scene_slug(text) if "+" in text else slugify(text)
    return f"{slug}-{int(seed)}.mp3"
