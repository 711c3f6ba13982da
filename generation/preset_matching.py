"""Finding presets: by name (any case, aliases), from free text by keywords, and for autocomplete.

Keyword matching works on whole words with light inflection: a keyword matches a word that *is*
the keyword plus an ordinary English ending ("rain" → "rains", "raining", "rainy"; "crackle" →
"crackling"; "city" → "cities"). It never matches inside another word, so "brain", "train" and
"terrain" do not mean rain, and "firework" does not mean fireplace (a firework is not a fire to
sit by). Keywords shorter than four letters ("sea", "owl", "log") only take a plural "s", because
longer endings turn them into unrelated words ("car" → "cared").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from generation.errors import RequestError
from generation.presets import CATALOGUE, PRESETS, Preset

#: Discord shows at most 25 autocomplete choices.
MAX_AUTOCOMPLETE = 25

# Endings accepted after a keyword's base form, per way of joining (plain, doubled consonant,
# dropped final "e", "y" turned into "i").
_ENDINGS = frozenset({"", "s", "es", "ing", "ings", "ed", "er", "ers", "y", "ier", "iest", "ous", "ly"})
_ENDINGS_DOUBLED = frozenset({"ing", "ed", "er", "ers", "y"})
_ENDINGS_NO_E = frozenset({"ing", "ings", "ed", "er", "ers", "y", "ous"})
_ENDINGS_Y_TO_I = frozenset({"es", "er", "est", "ed", "ly"})
_VOWELS = frozenset("aeiou")
_SHORT = 4


def fold(text: str) -> str:
    """Lower-case ASCII-ish form for comparisons: accents dropped ("Café" → "cafe"), casefolded."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of ``text`` (letters and digits; punctuation and emoji separate words)."""
    return re.findall(r"[^\W_]+", fold(text))


def is_form_of(word: str, base: str) -> bool:
    """Whether ``word`` is ``base`` or an inflection of it ("raining" of "rain", "cities" of "city")."""
    if word == base:
        return True
    if len(base) < _SHORT:
        return word == base + "s"
    if word.startswith(base) and word[len(base) :] in _ENDINGS:
        return True
    tail = base[-3:]
    if tail[2] not in _VOWELS | {"w", "x", "y"} and tail[1] in _VOWELS and tail[0] not in _VOWELS:
        doubled = base + base[-1]  # drip → dripping, drum → drumming
        if word.startswith(doubled) and word[len(doubled) :] in _ENDINGS_DOUBLED:
            return True
    if base.endswith("e") and word.startswith(base[:-1]) and word[len(base) - 1 :] in _ENDINGS_NO_E:
        return True
    return base.endswith("y") and word.startswith(base[:-1] + "i") and word[len(base) :] in _ENDINGS_Y_TO_I


def _phrase_positions(text_words: list[str], phrase: str) -> list[int]:
    """Indexes in ``text_words`` where every word of ``phrase`` matches in sequence."""
    parts = words(phrase)
    n = len(parts)
    return [
        i
        for i in range(len(text_words) - n + 1)
        if all(is_form_of(text_words[i + j], parts[j]) for j in range(n))
    ]


def mentions(text: str, phrase: str) -> bool:
    """Whether ``text`` contains ``phrase`` as whole words, in either singular or plural form.

    Checked both ways ("voice" mentions "voices" and vice versa), for comparing two pieces of
    free text such as a prompt and a negative prompt.
    """
    text_words, parts = words(text), words(phrase)
    n = len(parts)
    if not n:
        return False
    return any(
        all(
            is_form_of(text_words[i + j], parts[j]) or is_form_of(parts[j], text_words[i + j])
            for j in range(n)
        )
        for i in range(len(text_words) - n + 1)
    )


def match_preset(text: str) -> Preset | None:
    """The preset that free text describes best, or ``None`` when no keyword appears.

    Scoring: the preset with the most distinct keywords found wins; a tie goes to the higher
    ``priority`` (so "rain and thunder" is a thunderstorm, not rain), then to the preset whose
    first keyword appears earliest in the text ("rain with crickets" is rain), then to
    catalogue order.
    """
    text_words = words(text)
    best: tuple[int, int, int, int] | None = None
    best_preset: Preset | None = None
    for order, preset in enumerate(CATALOGUE):
        hits = 0
        first = len(text_words)
        for keyword in preset.keywords:
            positions = _phrase_positions(text_words, keyword)
            if positions:
                hits += 1
                first = min(first, positions[0])
        if not hits:
            continue
        rank = (-hits, -preset.priority, first, order)
        if best is None or rank < best:
            best, best_preset = rank, preset
    return best_preset


# --- lookup -----------------------------------------------------------------------------------


def _lookup_form(name: str) -> str:
    """Key-like form of a name: "🌲 Forest at night" → "forest-at-night", "forest_night" → "forest-night"."""
    return "-".join(words(name))


def _build_index(catalogue: Sequence[Preset] = CATALOGUE) -> dict[str, Preset]:
    index: dict[str, Preset] = {}
    for preset in catalogue:
        for name in (preset.key, preset.label, *preset.aliases):
            form = _lookup_form(name)
            other = index.setdefault(form, preset)
            if other is not preset:
                raise ValueError(f"preset name {name!r} is used by both {other.key!r} and {preset.key!r}")
    return index


_INDEX = _build_index()
_BUILT_IN = CATALOGUE


def install_extra_presets(extra: Sequence[Preset]) -> None:
    """Offer ``extra`` presets (from :mod:`generation.preset_file`) beside the catalogue's, by name
    only (they have no keywords); replaces any installed before. Raises :class:`RequestError` when
    a name is taken by a built-in preset."""
    global CATALOGUE, _INDEX
    built_in = {_lookup_form(n) for p in _BUILT_IN for n in (p.key, p.label, *p.aliases)}
    for preset in extra:
        for name in (preset.key, preset.label):
            if _lookup_form(name) in built_in:
                raise RequestError(f"the preset name {name!r} is a built-in preset's; choose another name")
    catalogue = _BUILT_IN + tuple(extra)
    try:
        index = _build_index(catalogue)
    except ValueError as exc:
        raise RequestError(str(exc)) from None
    CATALOGUE, _INDEX = catalogue, index
    # PRESETS is shared by reference (labels on cards, /presets): updated in place.
    PRESETS.clear()
    PRESETS.update({p.key: p for p in CATALOGUE})


def extra_presets() -> tuple[Preset, ...]:
    """The presets installed by :func:`install_extra_presets`."""
    return CATALOGUE[len(_BUILT_IN) :]


def get_preset(key: str) -> Preset:
    """The preset named ``key``: its key, label or an alias, in any case ("Ocean", "coffee shop")."""
    found = _INDEX.get(_lookup_form(key)) if isinstance(key, str) else None
    if found is None:
        shown = str(key).strip()
        if len(shown) > 40:
            shown = shown[:39] + "…"
        raise RequestError(f"Unknown preset '{shown}'. Choose one of: {', '.join(PRESETS)}.")
    return found


def search_presets(current: str, limit: int = MAX_AUTOCOMPLETE) -> list[Preset]:
    """Presets for autocomplete: those whose key, label, alias or keyword contains ``current``.

    Empty text lists all. Presets whose key or label starts with the text come first; at most
    ``limit`` (and never more than Discord's 25) are returned.
    """
    limit = min(limit, MAX_AUTOCOMPLETE)
    if limit <= 0:
        return []
    query = " ".join(words(current))
    ranked: list[tuple[int, int, Preset]] = []
    for order, preset in enumerate(CATALOGUE):
        names = [" ".join(words(n)) for n in (preset.key, preset.label)]
        others = [" ".join(words(n)) for n in (*preset.aliases, *preset.keywords)]
        if any(n.startswith(query) for n in names):
            ranked.append((0, order, preset))
        elif any(query in n for n in names + others):
            ranked.append((1, order, preset))
    ranked.sort(key=lambda item: item[:2])
    return [preset for _, _, preset in ranked[:limit]]
