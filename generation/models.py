"""The models a program offers by name: which exist, which is the default, and their craft.

A model is named by its display name (:func:`generation.settings.model_display_name`): the hub id
("cvssp/audioldm2"), a built-in name ("tiny-sao") or a folder's own name — what ``/ambient
model:`` offers, what requests carry (:attr:`GenerationRequest.model`) and what cards and tags
show. The first model is the default: requests that name none are made by it. Each model's
family says what a clip costs it (:meth:`ModelCatalog.denoised_seconds`). Pure data: no torch,
no Discord.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generation.backends.registry import ModelFamily, family_of
from generation.craft import ModelCraft, craft_for
from generation.errors import RequestError
from generation.request import GenerationRequest
from generation.settings import model_display_name

#: Discord shows at most 25 autocomplete choices.
MAX_CHOICES = 25


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One model users can choose: its name and how requests for it are made."""

    name: str
    craft: ModelCraft
    family: ModelFamily | None = None
    """What it computes per clip (:meth:`ModelFamily.denoised_seconds`); None: unknown, a clip
    costs its own length."""

    @classmethod
    def of(cls, model_id: str) -> ModelChoice:
        return cls(model_display_name(model_id), craft_for(model_id), family_of(model_id))

    def denoised_seconds(self, duration_s: float) -> float:
        """Seconds of audio this model denoises for a clip of ``duration_s`` (its GPU work)."""
        return duration_s if self.family is None else self.family.denoised_seconds(duration_s)

    def describe(self) -> str:
        """E.g. "tiny-sao (Stable Audio Open)"."""
        return f"{self.name} ({self.craft.title})"


def _fold(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True)
class ModelCatalog:
    """The models on offer, the default first (see the module docstring)."""

    choices: tuple[ModelChoice, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError("a catalogue needs at least one model")
        names = [_fold(choice.name) for choice in self.choices]
        if len(set(names)) != len(names):
            raise ValueError(f"two models share a name: {', '.join(c.name for c in self.choices)}")

    @classmethod
    def from_ids(cls, model_ids: Iterable[str]) -> ModelCatalog:
        return cls(tuple(ModelChoice.of(model_id) for model_id in model_ids))

    @property
    def default(self) -> ModelChoice:
        return self.choices[0]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(choice.name for choice in self.choices)

    def listing(self) -> str:
        """The names as a sentence lists them: "tiny, tiny-sao"."""
        return ", ".join(self.names)

    def get(self, name: str | None) -> ModelChoice:
        """The model called ``name`` (any case); blank or None is the default.

        Raises :class:`RequestError` naming the loaded models when there is no such model.
        """
        if name is None or not name.strip():
            return self.default
        wanted = _fold(name)
        for choice in self.choices:
            if _fold(choice.name) == wanted:
                return choice
        shown = name.strip()
        if len(shown) > 60:
            shown = shown[:59] + "…"
        raise RequestError(f"The model '{shown}' isn't loaded here. Choose one of: {self.listing()}.")

    def name_of(self, request: GenerationRequest) -> str:
        """The model that makes ``request``: its own, or the default for requests that name none."""
        return request.model or self.default.name

    def denoised_seconds(self, request: GenerationRequest) -> float:
        """Seconds of audio the model of ``request`` denoises for it: what it costs the GPU, the
        same on every model for the same work (a model no longer on offer: its own length)."""
        try:
            choice = self.get(request.model)
        except RequestError:
            return request.duration_s
        return choice.denoised_seconds(request.duration_s)

    def search(self, current: str, limit: int = MAX_CHOICES) -> list[ModelChoice]:
        """Models for autocomplete: those whose name or family contains ``current`` (all when empty),
        the ones whose name starts with it first."""
        query = _fold(current)
        starts = [c for c in self.choices if _fold(c.name).startswith(query)]
        contains = [
            c
            for c in self.choices
            if c not in starts and (query in _fold(c.name) or query in _fold(c.craft.title))
        ]
        return (starts + contains)[: min(limit, MAX_CHOICES)]

    def pair(self, first: str | None, second: str | None) -> tuple[ModelChoice, ModelChoice]:
        """Two different models to compare: the named ones, else the first two on offer."""
        if len(self.choices) < 2:
            raise RequestError(f"A comparison needs two models, and only {self.default.name} is loaded here.")
        a = self.get(first) if first and first.strip() else None
        b = self.get(second) if second and second.strip() else None
        others: Sequence[ModelChoice] = [c for c in self.choices if c not in (a, b)]
        if a is None:
            a = others[0]
            others = others[1:]
        if b is None:
            b = others[0] if others else None
        if b is None or a == b:
            raise RequestError(
                f"Compare two different models: {a.name} was picked for both. Loaded: {self.listing()}."
            )
        return a, b
