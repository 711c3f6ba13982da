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


def mp3_filename(text: str, seed: int) -> str:
    """The attachment name for a clip: "rain-with-crickets-1234.mp3"."""
    return f"{slugify(text)}-{int(seed)}.mp3"
