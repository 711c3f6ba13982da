"""The layer syntax of a scene: ``"rain:0.8@tiny-sao + crickets"`` parsed into :class:`LayerSpec` s.

A layer ending in ``~<seconds>s`` is an event, not a bed: ``thunder:0.5~60s`` sounds now and
then, on average every 60 s (see :mod:`generation.recipes.events`).

A layer may name the model that renders it after an ``@``: ``rain:0.8@tiny-sao + crickets``
(``name@model:gain`` is read too); layers without one use the scene's model.

Default gains: the first layer 1.0, every other layer 0.6 (about -4.4 dB). People name the
bed first ("rain + crickets + distant thunder"), and details a little under the bed sound
natural, where equal loudness makes every layer fight for attention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from generation.errors import RequestError
from generation.prompting import clean_text, format_number
from generation.request import MAX_SCENE_CHARS

MAX_LAYERS = 4
MIN_GAIN = 0.0
MAX_GAIN = 2.0
FIRST_LAYER_GAIN = 1.0
OTHER_LAYER_GAIN = 0.6

LAYER_SEPARATOR = "+"
MODEL_MARK = "@"
EVENT_MARK = "~"
EVENT_EXAMPLE = "rain + thunder:0.5~60s"
#: How often an event may be asked to sound, on average (seconds).
MIN_EVENT_EVERY_S = 2.0
MAX_EVENT_EVERY_S = 3600.0
EXAMPLE = "rain:0.8 + crickets:0.4"
MODEL_EXAMPLE = "rain:0.8@tiny-sao + crickets"

# "text:0.8" — a trailing colon and something number-like. Anything else after a colon
# ("forest: owls") stays part of the text.
_GAIN_SUFFIX = re.compile(r"^(?P<text>.*?)\s*:\s*(?P<gain>[-+]?[\d.,]+%?)$")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)$")
# "…~60s" — an event's mean interval, at the very end of the layer.
_EVENT_SUFFIX = re.compile(r"^(?P<rest>.*?)\s*~\s*(?P<every>[^~\s]*?)\s*s?$")
# What reads as an attempt at one (so a typo gets the event's help, not silence): a last word of
# letters, digits or dots glued to its "~" ("thunder~often") or a number after it. A "~" standing
# apart ("waves ~ calm"), a run of them ("~~~") or one inside other text is just text.
_EVENT_ATTEMPT = re.compile(r"(?:[^\s~]~|~\s*[\d.])[\w.]*\s*$")
# "…@tiny-sao" — a model name right after the "@" (no space), at the end of the layer.
_MODEL_SUFFIX = re.compile(r"^(?P<rest>.*?)\s*@(?P<model>[^\s@:]+)$")
# "…@tiny-sao:0.8" — the model before the level.
_MODEL_THEN_GAIN = re.compile(r"^(?P<rest>.*?)\s*@(?P<model>[^\s@:]+)\s*(?P<gain>:\s*[-+]?[\d.,]+%?)$")


@dataclass(frozen=True)
class LayerSpec:
    """One parsed layer: what to hear and how loud, relative to the others."""

    text: str
    gain: float
    model: str | None = None
    """The model named after ``@`` (None: the scene's)."""
    every_s: float | None = None
    """An event's mean interval in seconds (``~60s``); None for a bed."""

    @property
    def is_event(self) -> bool:
        return self.every_s is not None

    def describe(self) -> str:
        named = f"{MODEL_MARK}{self.model}" if self.model else ""
        every = f"{EVENT_MARK}{format_number(self.every_s)}s" if self.every_s is not None else ""
        return f"{self.text}:{format_number(self.gain)}{named}{every}"


def is_layered(text: str) -> bool:
    """Whether ``text`` asks for a layered scene: it contains ``+``, or ends in an event's
    ``~<seconds>s`` (a ``~`` elsewhere, as in "waves ~ calm", is just text)."""
    return LAYER_SEPARATOR in text or _EVENT_ATTEMPT.search(text) is not None


def _split_event(part: str, position: int) -> tuple[str, float | None]:
    """``"thunder:0.5~60s"`` → ``("thunder:0.5", 60.0)``; a layer that does not end in an event is a bed."""
    if _EVENT_ATTEMPT.search(part) is None:
        return part, None
    match = _EVENT_SUFFIX.match(part)
    every = match.group("every") if match is not None else ""
    if match is None or not _NUMBER.match(every):
        raise RequestError(
            f"Layer {position}: an event says how often it sounds as '~<seconds>s' at its end, "
            f"e.g. '{EVENT_EXAMPLE}'."
        )
    seconds = float(every)
    if not (MIN_EVENT_EVERY_S <= seconds <= MAX_EVENT_EVERY_S):
        raise RequestError(
            f"An event can sound on average every {format_number(MIN_EVENT_EVERY_S)} to "
            f"{format_number(MAX_EVENT_EVERY_S)} seconds; you asked for every {format_number(seconds)} s."
        )
    return match.group("rest"), seconds


def check_gain(text: str, gain: float) -> float:
    """``gain`` as a float, when a layer may have that level (0 to 2); raises :class:`RequestError`."""
    if not (math.isfinite(gain) and MIN_GAIN <= gain <= MAX_GAIN):
        raise RequestError(
            f"The level of '{text}' must be between {format_number(MIN_GAIN)} and "
            f"{format_number(MAX_GAIN)} (1 = reference); you asked for {format_number(gain)}."
        )
    return float(gain)


def _split_model(part: str) -> tuple[str, str | None]:
    """``"rain:0.8@tiny-sao"`` → ``("rain:0.8", "tiny-sao")``; ``"rain@m:0.8"`` → ``("rain:0.8", "m")``."""
    match = _MODEL_SUFFIX.match(part)
    if match is not None:
        return match.group("rest"), match.group("model")
    match = _MODEL_THEN_GAIN.match(part)
    if match is not None:
        return match.group("rest") + match.group("gain"), match.group("model")
    return part, None


def _parse_layer(part: str, position: int) -> tuple[str, float | None]:
    match = _GAIN_SUFFIX.match(part)
    if match is None:
        return part, None
    text, gain = match.group("text"), match.group("gain")
    if not text:
        raise RequestError(
            f"Layer {position} has a level but nothing to hear; write layers like '{EXAMPLE}'."
        )
    if not _NUMBER.match(gain):
        raise RequestError(
            f"The level of '{text}' must be a number like 0.8 (a dot for decimals); you wrote '{gain}'."
        )
    return text, check_gain(text, float(gain))


def parse_layers(text: str) -> list[LayerSpec]:
    """Split ``"rain:0.8 + crickets + distant thunder"`` into layers; raises :class:`RequestError`.

    A layer's ``:gain`` suffix (0 to 2) sets its level; layers without one get the defaults
    (first 1.0, others 0.6). ``@model`` after it names the layer's model (checked later, against
    the loaded ones, by :func:`~generation.recipes.layer_requests.layer_requests`). At most four
    layers, none empty, at least one audible, and the whole text at most
    :data:`~generation.request.MAX_SCENE_CHARS` characters.
    """
    cleaned = clean_text(text)
    if len(cleaned) > MAX_SCENE_CHARS:
        raise RequestError(
            f"Your scene is {len(cleaned)} characters long; the limit is {MAX_SCENE_CHARS} for the whole "
            "scene, every layer and level included. Please shorten it."
        )
    parts = [part.strip() for part in cleaned.split(LAYER_SEPARATOR)]
    if len(parts) > MAX_LAYERS:
        raise RequestError(
            f"A mix can have at most {MAX_LAYERS} layers; you gave {len(parts)}. "
            "Combine some into one layer, e.g. 'rain and wind + crickets'."
        )
    layers: list[LayerSpec] = []
    for position, part in enumerate(parts, start=1):
        if not part:
            raise RequestError(f"Layer {position} is empty; write layers like '{EXAMPLE}'.")
        part, every_s = _split_event(part, position)
        spec, model = _split_model(part)
        if not spec.strip():
            raise RequestError(
                f"Layer {position} names a model but nothing to hear; write layers like '{MODEL_EXAMPLE}'."
            )
        layer_text, gain = _parse_layer(spec, position)
        if gain is None:
            gain = FIRST_LAYER_GAIN if position == 1 else OTHER_LAYER_GAIN
        layers.append(LayerSpec(layer_text, gain, model, every_s))
    if all(layer.gain == 0.0 for layer in layers):
        raise RequestError("At least one layer needs a level above 0, or the mix is silent.")
    return layers


def describe_layers(layers: Sequence[LayerSpec]) -> str:
    """Layers written back as a user would type them: ``"rain:1 + crickets:0.6"``."""
    return f" {LAYER_SEPARATOR} ".join(layer.describe() for layer in layers)


def layer_to_dict(layer: LayerSpec) -> dict[str, object]:
    """``layer`` as stored by :meth:`~generation.recipes.mixing.Mix.save` (its model where it named one)."""
    data: dict[str, object] = {"text": layer.text, "gain": layer.gain}
    if layer.model is not None:
        data["model"] = layer.model
    if layer.every_s is not None:
        data["every_s"] = layer.every_s
    return data


def layer_from_dict(data: dict[str, object]) -> LayerSpec:
    """A layer stored by :meth:`~generation.recipes.mixing.Mix.save` or a recipe (its model only where
    it named one)."""
    model, every = data.get("model"), data.get("every_s")
    return LayerSpec(
        str(data["text"]),
        float(data["gain"]),  # type: ignore[arg-type]
        str(model) if model else None,
        float(every) if every is not None else None,  # type: ignore[arg-type]
    )
