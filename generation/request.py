"""The immutable generation request: what the model is asked, exactly as it is stored and shown."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Bounds every entry point (CLI, slash command, modal) enforces before any GPU work.
MIN_DURATION_S = 2.5
MAX_DURATION_S = 30.0
MIN_STEPS = 10
MAX_STEPS = 150
MIN_GUIDANCE = 1.0
MAX_GUIDANCE = 15.0
MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 300
#: A layered scene ("rain:0.8 + crickets:0.4 + …") is stored and shown as one prompt, so its
#: whole text — every layer, level and "+" — has the same limit as one prompt.
MAX_SCENE_CHARS = MAX_PROMPT_CHARS
MAX_NEGATIVE_CHARS = 300

#: Scheduler names the engine understands ("default" keeps the checkpoint's own).
SCHEDULERS: tuple[str, ...] = ("default", "dpm++", "ddim")

#: Quality levels a user may pick: "standard" keeps the preset's sampler and steps; "fast" uses
#: DPM-Solver++ with fewer steps (about half the GPU time, slightly less detail).
QUALITY_STANDARD = "standard"
QUALITY_FAST = "fast"
QUALITIES: tuple[str, ...] = (QUALITY_STANDARD, QUALITY_FAST)
FAST_SCHEDULER = "dpm++"
FAST_STEPS = 25


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One fully resolved request: the expanded prompt and every parameter the model sees.

    Built by :func:`generation.prompting.build_request`, which validates every field; the
    engine trusts it.
    """

    user_text: str
    """What the user typed, cleaned of control characters but otherwise untouched."""
    prompt: str
    """The prompt sent to the model (preset template applied unless ``raw``)."""
    negative_prompt: str
    preset: str | None
    """Catalogue key of the matched or chosen preset; ``None`` when nothing matched or ``raw``."""
    raw: bool
    duration_s: float
    steps: int
    guidance: float
    seed: int
    scheduler: str = "default"
    model: str | None = None
    """The name of the model that renders it (see :mod:`generation.models`); ``None``: the default
    model of wherever it runs (requests stored before there were several models)."""

    def with_seed(self, seed: int) -> GenerationRequest:
        """The same request with another seed (a reroll)."""
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed {seed} out of range")
        return dataclasses.replace(self, seed=seed)

    def with_model(self, model: str | None) -> GenerationRequest:
        """The same request for another model (its settings unchanged)."""
        return dataclasses.replace(self, model=model)

    def batch_key(self) -> tuple[str | None, int, float, float, str]:
        """Requests with equal keys can share one pipeline call (same model, latent shape and loop)."""
        return (self.model, self.steps, self.duration_s, self.guidance, self.scheduler)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if data["model"] is None:
            del data["model"]  # stored as before there were several models
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
