"""Which family a model id belongs to, and the one factory that loads any of them.

A model id is a built-in tiny model (``tiny``, ``tiny-sao``, ``tiny-sa3``), a local folder (its
``model_index.json`` names the pipeline class), or a Hugging Face id (known prefixes; anything
else is taken for AudioLDM2, as before there were several families). Pure data until
:func:`load_backend`: importing this module costs no torch.
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation.settings import (
    DEFAULT_MODEL_ID,
    STABLE_AUDIO_3_MODEL_ID,
    STABLE_AUDIO_OPEN_MODEL_ID,
    TINY_MODEL_ID,
    TINY_SA3_MODEL_ID,
    TINY_SAO_MODEL_ID,
    EngineSettings,
)

if TYPE_CHECKING:
    from generation.backends.base import Backend


@dataclass(frozen=True)
class ModelFamily:
    """One model family: how to recognise its ids and where its backend lives."""

    key: str
    title: str
    """How people call it ("Stable Audio Open")."""
    tiny_id: str
    published_id: str
    """Its best-known checkpoint (for help texts)."""
    pipeline_class: str
    """The diffusers pipeline class a folder's ``model_index.json`` names."""
    hub_prefixes: tuple[str, ...]
    """Hugging Face ids starting with one of these belong to the family."""
    engine: str
    """``module:Class`` of its backend, imported only when a model of the family loads."""
    sample_rate: int
    channels: int
    latent_s: float
    """Seconds of audio one latent frame holds: the pipeline rounds a clip up to whole frames."""
    window_s: float | None = None
    """A fixed stretch of audio denoised on every call, whatever the clip (cropped afterwards);
    None where the latent is as long as the clip."""
    gated: bool = False

    def denoised_seconds(self, duration_s: float) -> float:
        """Seconds of audio the model denoises for a clip of ``duration_s``: what a clip costs.

        The published geometry of the family (a checkpoint that changes it is not foreseen); the
        loaded backends say the same (:meth:`generation.backends.base.Backend.denoised_seconds`).
        Pure arithmetic, so a bot without the model (GPU workers through Redis) prices jobs alike.
        """
        if self.window_s is not None:
            return self.window_s
        # Float noise (2.5 / 0.04 = 62.500000001) must not add a frame.
        frames = math.ceil(round(duration_s / self.latent_s, 6))
        return frames * self.latent_s

    def engine_class(self) -> type:
        module, name = self.engine.split(":")
        return getattr(importlib.import_module(module), name)


AUDIOLDM2 = ModelFamily(
    key="audioldm2",
    title="AudioLDM2",
    tiny_id=TINY_MODEL_ID,
    published_id=DEFAULT_MODEL_ID,
    pipeline_class="AudioLDM2Pipeline",
    hub_prefixes=("cvssp/audioldm2",),
    engine="generation.backends.audioldm2.engine:AudioEngine",
    sample_rate=16_000,
    channels=1,
    # Mel hop 160 samples at 16 kHz, VAE downsampling 4: 40 ms per latent frame.
    latent_s=160 * 4 / 16_000,
)
STABLE_AUDIO_OPEN = ModelFamily(
    key="stable-audio-open",
    title="Stable Audio Open",
    tiny_id=TINY_SAO_MODEL_ID,
    published_id=STABLE_AUDIO_OPEN_MODEL_ID,
    pipeline_class="StableAudioPipeline",
    hub_prefixes=("stabilityai/stable-audio-open",),
    engine="generation.backends.stable_audio.engine:StableAudioEngine",
    sample_rate=44_100,
    channels=2,
    # Oobleck VAE: 2048 samples per latent; the DiT always denoises its 1024-latent window
    # (47.55 s), even for a 2.5 s clip.
    latent_s=2048 / 44_100,
    window_s=1024 * 2048 / 44_100,
    gated=True,
)
STABLE_AUDIO_3 = ModelFamily(
    key="stable-audio-3",
    title="Stable Audio 3",
    tiny_id=TINY_SA3_MODEL_ID,
    published_id=STABLE_AUDIO_3_MODEL_ID,
    pipeline_class="StableAudio3Pipeline",
    hub_prefixes=("stabilityai/stable-audio-3",),
    engine="generation.backends.stable_audio_3.engine:StableAudio3Engine",
    sample_rate=44_100,
    channels=2,
    # SAME autoencoder: 4096 samples per latent; the latent is as long as the clip.
    latent_s=4096 / 44_100,
    gated=True,
)

FAMILIES: tuple[ModelFamily, ...] = (AUDIOLDM2, STABLE_AUDIO_OPEN, STABLE_AUDIO_3)


def family_by_key(key: str) -> ModelFamily:
    """The family whose :attr:`ModelFamily.key` is ``key`` (KeyError for none)."""
    for family in FAMILIES:
        if family.key == key:
            return family
    raise KeyError(key)


#: The built-in models, which need no download.
BUILTIN_MODEL_IDS: tuple[str, ...] = tuple(f.tiny_id for f in FAMILIES)


def _folder_pipeline_class(folder: Path) -> str | None:
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = index.get("_class_name") if isinstance(index, dict) else None
    return name if isinstance(name, str) else None


def family_of(model_id: str) -> ModelFamily:
    """The family of ``model_id``: built-in name, folder (by its pipeline class) or hub id prefix.

    Unknown ids fall back to AudioLDM2, whose loader then says clearly what it could not load.
    """
    for family in FAMILIES:
        if model_id == family.tiny_id:
            return family
    folder = Path(model_id).expanduser()
    if folder.is_dir():
        pipeline = _folder_pipeline_class(folder)
        return next((f for f in FAMILIES if f.pipeline_class == pipeline), AUDIOLDM2)
    lowered = model_id.lower()
    return next((f for f in FAMILIES if lowered.startswith(f.hub_prefixes)), AUDIOLDM2)


def load_backend(settings: EngineSettings | None = None) -> Backend:
    """Load the model ``settings`` names with its family's backend.

    Raises :class:`generation.errors.ModelUnavailable` with one clear line when it cannot.
    """
    settings = settings or EngineSettings()
    return family_of(settings.model_id).engine_class().load(settings)
