"""Prompt craft per model: what each model wants from a request beyond the words.

The preset catalogue (:mod:`generation.presets`) was tuned on AudioLDM2, so AudioLDM2's craft
changes nothing. The other families differ where it matters (research notes, from their model
cards and pipelines):

* **Stable Audio Open 1.0** — its pipeline's and Stability's demo default is 100 steps of its
  DPM-Solver++ 2M SDE sampler at guidance 7; at 50 Karras-spaced steps (the fast quality) it
  keeps most of the detail. It was trained on Freesound and FMA descriptions, whose tags name
  the recording ("stereo", "44.1 kHz"): ending the prompt with them steers it towards clean,
  wide field recordings. It honours negative prompts.
* **Stable Audio 3, distilled** (``stable-audio-3-medium``, and the built-in ``tiny-sa3``, built
  like it) — classifier-free guidance is baked in: guidance 1 (a guidance above 1 would double
  the cost and distort the sound) and about 8 steps of its own sampler. At guidance 1 the
  negative prompt is never used, so none is sent or shown.
* **Stable Audio 3, base** (``…-base``) — like Stable Audio Open: about 100 steps, guidance 7.

A preset may carry its own :class:`Tuning` for a model where its catalogue values were an
AudioLDM2 workaround (see the rain preset). Pure data: no torch, no Discord.
"""

from __future__ import annotations

from dataclasses import dataclass

from generation.request import FAST_SCHEDULER, FAST_STEPS


@dataclass(frozen=True, slots=True, kw_only=True)
class Tuning:
    """A preset's settings for one kind of model where they differ from the catalogue (None: keep)."""

    template: str | None = None
    """Format string with one ``{text}`` placeholder, like :attr:`Preset.template`."""
    negative_prompt: str | None = None
    guidance: float | None = None
    steps: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelCraft:
    """How requests for one kind of model are made (None: the preset's own value)."""

    key: str
    """"audioldm2", "stable-audio-open", "stable-audio-3" or "stable-audio-3-base"."""
    title: str
    """How people call it ("Stable Audio Open")."""
    tuning_keys: tuple[str, ...]
    """Keys a preset's tunings are looked up by, most specific first."""
    steps: int | None = None
    """Denoising steps at the standard quality."""
    fast_steps: int = FAST_STEPS
    """Denoising steps at the fast quality."""
    guidance: float | None = None
    negative: bool = True
    """False: the model never uses a negative prompt (no classifier-free guidance)."""
    suffix: str = ""
    """Words appended to every templated prompt (never to a raw one)."""
    summary: str = ""
    """One line for ``/presets``: what differs on this model."""

    @property
    def fast_scheduler(self) -> str:
        return FAST_SCHEDULER


AUDIOLDM2 = ModelCraft(
    key="audioldm2",
    title="AudioLDM2",
    tuning_keys=("audioldm2",),
    summary="16 kHz mono; each preset's own steps (50), guidance and negative prompt.",
)
STABLE_AUDIO_OPEN = ModelCraft(
    key="stable-audio-open",
    title="Stable Audio Open",
    tuning_keys=("stable-audio-open", "stable-audio"),
    steps=100,
    fast_steps=50,
    guidance=7.0,
    suffix=", stereo, 44.1 kHz",
    summary="44.1 kHz stereo; 100 steps (fast: 50), guidance 7, the preset's negative prompt.",
)
STABLE_AUDIO_3 = ModelCraft(
    key="stable-audio-3",
    title="Stable Audio 3",
    tuning_keys=("stable-audio-3", "stable-audio"),
    steps=8,
    fast_steps=8,
    guidance=1.0,
    negative=False,
    suffix=", stereo, 44.1 kHz",
    summary="44.1 kHz stereo, distilled: 8 steps, guidance 1, no negative prompt.",
)
STABLE_AUDIO_3_BASE = ModelCraft(
    key="stable-audio-3-base",
    title="Stable Audio 3 (base)",
    tuning_keys=("stable-audio-3-base", "stable-audio-3", "stable-audio"),
    steps=100,
    fast_steps=50,
    guidance=7.0,
    suffix=", stereo, 44.1 kHz",
    summary="44.1 kHz stereo; 100 steps (fast: 50), guidance 7, the preset's negative prompt.",
)

CRAFTS: dict[str, ModelCraft] = {
    c.key: c for c in (AUDIOLDM2, STABLE_AUDIO_OPEN, STABLE_AUDIO_3, STABLE_AUDIO_3_BASE)
}


def craft_for(model_id: str) -> ModelCraft:
    """The craft of the model ``model_id`` names (a hub id, a folder, or a built-in name).

    Stable Audio 3 comes distilled (``stable-audio-3-medium``, ``tiny-sa3``) or as its base model:
    an id or folder whose name ends in ``-base`` is taken for the base model.
    """
    from generation.backends.registry import family_of
    from generation.settings import model_display_name

    family = family_of(model_id).key
    if family == STABLE_AUDIO_3.key:
        base = model_display_name(model_id).lower().rstrip("/").endswith("-base")
        return STABLE_AUDIO_3_BASE if base else STABLE_AUDIO_3
    return CRAFTS.get(family, AUDIOLDM2)
