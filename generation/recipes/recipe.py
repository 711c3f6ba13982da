"""How a job's audio is made beyond one request: loop, long render, best-of-N, layers.

A :class:`Recipe` travels with a job (it is stored as JSON beside the request) and tells the
worker which path to take. The default recipe is a plain clip; plain clips of equal
:meth:`GenerationRequest.batch_key` can share one pipeline call with other jobs, the others run
alone. Pure data and validation: no torch, no Discord.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generation.errors import RequestError
from generation.prompting import format_number
from generation.recipes.layers import MAX_LAYERS, LayerSpec, layer_from_dict
from generation.recipes.long_plan import MAX_LENGTH_S, MIN_LENGTH_S
from generation.recipes.ranking import MAX_CANDIDATES, check_candidates
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.models import ModelCatalog

#: "90", "90s", "2m", "2.5 min", "1m30s", "1:30", "10 minutes".
_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_UNITS |= {"m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0}
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)$")

LENGTH_EXAMPLES = "90s, 3m, 2:30 or 10 min"


def parse_length(text: str | float | None) -> float | None:
    """A length typed by a user, in seconds (``None`` for blank); raises :class:`RequestError`.

    Accepts plain seconds, units (s, m, min, minutes…) in any combination ("1m30s") and clock
    form ("2:30"); the result must lie between 2.5 seconds and 10 minutes.
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        cleaned = str(text).strip().lower()
        if not cleaned:
            return None
        seconds = _seconds(cleaned, str(text).strip())
    bounds = f"between {format_number(MIN_LENGTH_S)} seconds and {format_number(MAX_LENGTH_S / 60)} minutes"
    if not math.isfinite(seconds) or not MIN_LENGTH_S <= seconds <= MAX_LENGTH_S:
        raise RequestError(f"Length must be {bounds}; you asked for {_as_minutes(seconds)}.")
    return seconds


def _seconds(cleaned: str, original: str) -> float:
    clock = _CLOCK.match(cleaned)
    if clock:
        return int(clock[1]) * 60.0 + int(clock[2])
    total, position = 0.0, 0
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        number, unit = float(match[1].replace(",", ".")), match[2]
        if unit and unit not in _UNITS:
            break
        total += number * _UNITS.get(unit, 1.0)
        position = match.end()
    else:
        if position and not cleaned[position:].strip():
            return total
    raise RequestError(f"I couldn't read the length '{original[:40]}'; write it like {LENGTH_EXAMPLES}.")


def _as_minutes(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "that"
    if seconds >= 120:
        return f"{format_number(round(seconds / 60, 1))} minutes"
    return f"{format_number(seconds)} s"


@dataclass(frozen=True)
class Recipe:
    """Everything about a job's audio beyond its request. The default is one plain clip."""

    loop: bool = False
    """Make the result loop seamlessly (loop point by similarity, equal-power crossfade)."""
    length_s: float | None = None
    """A long render of this many seconds, in crossfaded segments (None: one clip)."""
    candidates: int = 1
    """Best-of-N: generate this many, post the one CLAP ranks best, keep the others for 🔁."""
    layers: tuple[LayerSpec, ...] = ()
    """A layered scene: each layer's text and gain (empty: not layered)."""
    layer_requests: tuple[GenerationRequest, ...] = ()
    """One resolved request per layer."""
    source_job_id: int | None = None
    """For layer rerolls and level changes: the job whose stored stems are reused."""
    reroll_layer: int | None = None
    """For a layer reroll: which layer (0-based) gets a new seed; the others are reused."""
    candidate_of: int | None = None
    """For a reroll served from best-of-N: the job whose stored candidate it posts."""
    compare: tuple[GenerationRequest, ...] = ()
    """A blind comparison: the same words, seed and duration on two models, takes A then B
    (see :mod:`generation.recipes.compare`); empty: not a comparison."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Keys written by a newer version, kept so that an older one round-trips them."""

    def __post_init__(self) -> None:
        check_candidates(self.candidates)
        if len(self.layers) != len(self.layer_requests):
            raise ValueError("a layered recipe needs one request per layer")
        if len(self.layers) > MAX_LAYERS:
            raise RequestError(f"A scene can have at most {MAX_LAYERS} layers; you gave {len(self.layers)}.")
        if self.layers and self.length_s is not None:
            raise RequestError("A long render works on one prompt, not on layers; layers go up to 30 s.")
        if self.layers and self.candidates > 1:
            raise RequestError("Best-of-N (candidates) works on one prompt, not on layers.")
        if self.length_s is not None and self.candidates > 1:
            raise RequestError("A long render makes one file; candidates do not apply to it.")
        if self.compare and (
            len(self.compare) != 2 or self.layers or self.length_s is not None or self.candidates > 1
        ):
            raise ValueError("a comparison is two plain takes of one prompt")

    @property
    def layered(self) -> bool:
        return bool(self.layers)

    @property
    def gains(self) -> tuple[float, ...]:
        return tuple(layer.gain for layer in self.layers)

    @property
    def remix(self) -> bool:
        """A level change of stored stems: no GPU work at all."""
        return self.source_job_id is not None and self.reroll_layer is None

    @property
    def batchable(self) -> bool:
        """Plain clips (looping or not) may share a pipeline call with other jobs."""
        return (
            not self.layers
            and self.length_s is None
            and self.candidates == 1
            and self.source_job_id is None
            and self.candidate_of is None
            and not self.compare
        )

    @property
    def needs_gpu(self) -> bool:
        return not self.remix and self.candidate_of is None

    def check_variations(self, variations: int) -> None:
        """Variations apply to plain clips only; raises :class:`RequestError` otherwise."""
        if variations == 1:
            return
        if self.length_s is not None:
            raise RequestError("A long render makes one file; variations do not apply to it.")
        if self.candidates > 1:
            raise RequestError(
                f"Use either variations or candidates: candidates:{self.candidates} already generates "
                f"{self.candidates} takes and posts the best (up to {MAX_CANDIDATES})."
            )
        if self.layers:
            raise RequestError("A layered scene makes one mix; variations do not apply to it.")

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the result card."""
        shown: list[tuple[str, str]] = []
        if self.layers:
            shown.append(("Layers", " + ".join(_layer_label(layer) for layer in self.layers)))
        if self.length_s is not None:
            shown.append(("Length", format_length(self.length_s)))
        if self.loop:
            shown.append(("Loop", "seamless"))
        if self.candidates > 1:
            shown.append(("Best of", str(self.candidates)))
        return shown

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        if self.loop:
            data["loop"] = True
        if self.length_s is not None:
            data["length_s"] = self.length_s
        if self.candidates != 1:
            data["candidates"] = self.candidates
        if self.layers:
            data["layers"] = [
                {"text": layer.text, "gain": layer.gain, "request": request.to_dict()}
                | ({"model": layer.model} if layer.model else {})
                for layer, request in zip(self.layers, self.layer_requests, strict=True)
            ]
        if self.compare:
            data["compare"] = [request.to_dict() for request in self.compare]
        for key in ("source_job_id", "reroll_layer", "candidate_of"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Recipe:
        if not data:
            return cls()
        known = {
            "loop",
            "length_s",
            "candidates",
            "layers",
            "source_job_id",
            "reroll_layer",
            "candidate_of",
            "compare",
        }
        layers = data.get("layers") or []
        return cls(
            loop=bool(data.get("loop", False)),
            length_s=data.get("length_s"),
            candidates=int(data.get("candidates", 1)),
            layers=tuple(layer_from_dict(layer) for layer in layers),
            layer_requests=tuple(GenerationRequest.from_dict(layer["request"]) for layer in layers),
            source_job_id=data.get("source_job_id"),
            reroll_layer=data.get("reroll_layer"),
            candidate_of=data.get("candidate_of"),
            compare=tuple(GenerationRequest.from_dict(r) for r in data.get("compare") or ()),
            extra={k: v for k, v in data.items() if k not in known},
        )


PLAIN = Recipe()


def _layer_label(layer: LayerSpec) -> str:
    named = f", {layer.model}" if layer.model else ""
    return f"{layer.text} ({layer.gain:g}{named})"


def format_length(seconds: float) -> str:
    """``"3 min"``, ``"2 min 30 s"``, ``"45 s"``."""
    whole = round(seconds)
    if abs(seconds - whole) > 1e-6 or whole < 60:
        return f"{format_number(round(seconds, 2))} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def build_order(
    text: str,
    *,
    preset: str | None = None,
    raw: bool = False,
    duration: float | None = None,
    seed: int | None = None,
    negative: str | None = None,
    guidance: float | None = None,
    quality: str | None = None,
    loop: bool = False,
    length: str | float | None = None,
    candidates: int = 1,
    model: str | None = None,
    catalog: ModelCatalog | None = None,
) -> tuple[GenerationRequest, Recipe]:
    """Validate a whole ``/ambient`` order into its request and recipe; raises :class:`RequestError`.

    ``text`` with " + " between parts is a layered scene ("rain:0.8 + crickets:0.4"): every
    layer gets its own preset, so ``preset``, ``raw`` and ``negative`` are refused there. The
    returned request of a scene is its first layer's, carrying the whole text as ``user_text``.

    ``model`` names the model (looked up in ``catalog``, the models on offer; blank: the
    default); a scene's layers may name their own (``rain@tiny-sao``). Without a catalogue the
    requests name no model (the default of wherever they run).
    """
    from generation.prompting import build_request, clean_text
    from generation.recipes.layer_requests import layer_requests, with_models
    from generation.recipes.layers import is_layered, parse_layers

    if catalog is None and model is not None and model.strip():
        raise RequestError("No model can be chosen here.")
    choice = catalog.get(model) if catalog is not None else None
    length_s = parse_length(length)
    if length_s is not None and duration is not None:
        raise RequestError("Use either length (a long render) or duration (one clip), not both.")
    if is_layered(text):
        if (preset and preset.strip()) or raw or negative is not None:
            raise RequestError(
                "preset, raw and negative apply to a single prompt; each layer gets its own preset."
            )
        build_request("x", quality=quality)  # validates the quality name alone
        layers = parse_layers(text)
        requests = layer_requests(
            layers,
            duration=duration,
            seed=seed,
            guidance=guidance,
            quality=quality,
            catalog=catalog,
            model=choice,
        )
        recipe = Recipe(
            loop=bool(loop),
            length_s=length_s,
            candidates=check_candidates(candidates),
            layers=tuple(with_models(layers, requests)),
            layer_requests=tuple(requests),
        )
        return dataclasses.replace(requests[0], user_text=clean_text(text)), recipe
    request = build_request(
        text,
        preset=preset,
        raw=raw,
        duration=duration,
        seed=seed,
        negative=negative,
        guidance=guidance,
        quality=quality,
        model=choice,
    )
    return request, Recipe(loop=bool(loop), length_s=length_s, candidates=check_candidates(candidates))


def fresh_recipe(recipe: Recipe, seed: int) -> Recipe:
    """The recipe of a new take from ``seed``: layers re-seeded, nothing reused from storage."""
    requests = tuple(
        request.with_seed((seed + i) % (MAX_SEED + 1)) for i, request in enumerate(recipe.layer_requests)
    )
    return dataclasses.replace(
        recipe, layer_requests=requests, source_job_id=None, reroll_layer=None, candidate_of=None
    )
