"""Layered scenes: "rain:0.8 + crickets:0.4 + distant thunder" as separately rendered, mixed stems.

Each layer is its own request (its own preset match, seed ``seed + i``), rendered on its own,
then loudness-normalised to a common reference (-23 LUFS) so that gains mean *relative levels*:
a gain is a linear amplitude factor on that reference, so ``rain:1 + crickets:0.5`` puts the
crickets 6 dB under the rain whatever the model's raw levels were. The sum is then finished
like any clip (:func:`generation.audio.finishing.finish`: loudness target, true-peak ceiling).

:class:`Mix` keeps the normalised stems, so changing a level (:meth:`Mix.remix`) or rerolling
one layer (:meth:`Mix.replace_layer`) re-renders nothing else; the stems are never modified and
are shared between mixes. :meth:`Mix.save` / :meth:`Mix.load` store them (``.npz``, no pickle)
for a bot to reload later.

Layers may come from different models: a 16 kHz mono AudioLDM2 stem and a 44.1 kHz stereo
Stable Audio stem are brought to the mix's rate (pass the highest, :func:`mix_rate`, so nothing
is thrown away) and to the most channels among them (:func:`generation.audio.resample.conform`,
libsoxr) before they are normalised and cut to a common length. Resampling keeps each stem
sample-aligned with its original, so the layers stay in sync.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from generation.audio.channels import as_audio, channel_count
from generation.audio.finishing import DEFAULT_SETTINGS, SILENCE_PEAK, FinishedAudio, FinishSettings, finish
from generation.audio.loudness import db_to_gain, integrated_loudness
from generation.audio.resample import conform
from generation.audio.tags import Mp3Tags
from generation.errors import RequestError
from generation.recipes.events import one_shots, scatter
from generation.recipes.layers import (
    LAYER_SEPARATOR,
    LayerSpec,
    check_gain,
    describe_layers,
    layer_from_dict,
    layer_to_dict,
)
from generation.request import GenerationRequest

#: Loudness every stem is brought to before its gain (EBU R 128's reference level).
STEM_LUFS = -23.0


def _event_stem(stem: np.ndarray, sample_rate: int, layer: LayerSpec, seed: int) -> np.ndarray:
    """A bed's stem as it is; an event's (``~60s``) as its one-shots scattered over the length."""
    if layer.every_s is None:
        return stem
    rng = np.random.default_rng(seed)
    scattered, _ = scatter(
        one_shots(stem, sample_rate), stem.shape[0], sample_rate, layer.every_s, rng, circular=False
    )
    scattered.setflags(write=False)
    return scattered


def mix_rate(sample_rates: Sequence[int]) -> int:
    """The rate to mix layers of these rates at: the highest, so no layer loses bandwidth."""
    if not sample_rates:
        raise ValueError("no layers to mix")
    return max(sample_rates)


def normalise_stem(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` (mono ``(n,)`` or stereo ``(n, 2)`` float) without DC, at :data:`STEM_LUFS`;
    silence stays silent. Read-only float32 of the same layout."""
    x = as_audio(audio)
    x -= x.mean(axis=0)
    if float(np.max(np.abs(x), initial=0.0)) <= SILENCE_PEAK:
        x[:] = 0.0
    else:
        loudness = integrated_loudness(x, sample_rate)
        # Under 400 ms loudness is undefined: such a stem is mixed as it is.
        if math.isfinite(loudness):
            x *= db_to_gain(STEM_LUFS - loudness)
    stem = x.astype(np.float32)
    stem.flags.writeable = False
    return stem


@dataclass(frozen=True, eq=False)
class Mix:
    """Loudness-normalised stems with their gains; every change returns a new :class:`Mix`."""

    layers: tuple[LayerSpec, ...]
    requests: tuple[GenerationRequest, ...]
    stems: tuple[np.ndarray, ...]
    """Read-only float32 stems at :data:`STEM_LUFS`, all the same length and layout."""
    sample_rate: int

    @classmethod
    def create(
        cls,
        layers: Sequence[LayerSpec],
        requests: Sequence[GenerationRequest],
        waveforms: Sequence[np.ndarray],
        sample_rate: int,
        *,
        sample_rates: Sequence[int] | None = None,
    ) -> Mix:
        """Normalise raw model ``waveforms`` (one per layer) into a mix at ``sample_rate``.

        Without ``sample_rates`` every waveform is at ``sample_rate`` already. With them (one per
        waveform, layers from different models), each is resampled to ``sample_rate`` and all
        are brought to the most channels among them (mono is copied to both sides).
        """
        if not len(layers) == len(requests) == len(waveforms) or not layers:
            raise ValueError("a mix needs one request and one waveform per layer")
        rates = list(sample_rates) if sample_rates is not None else [sample_rate] * len(waveforms)
        if len(rates) != len(waveforms):
            raise ValueError("a mix needs one sample rate per waveform")
        shaped = [as_audio(w, dtype=np.float32) for w in waveforms]
        channels = max(channel_count(w) for w in shaped)
        conformed = [conform(w, rate, sample_rate, channels) for w, rate in zip(shaped, rates, strict=True)]
        length = min(w.shape[0] for w in conformed)
        stems = tuple(
            _event_stem(normalise_stem(w[:length], sample_rate), sample_rate, layer, request.seed)
            for w, layer, request in zip(conformed, layers, requests, strict=True)
        )
        return cls(tuple(layers), tuple(requests), stems, sample_rate)

    @property
    def channels(self) -> int:
        """1 (mono stems) or 2 (stereo stems)."""
        return channel_count(self.stems[0])

    @property
    def gains(self) -> tuple[float, ...]:
        return tuple(layer.gain for layer in self.layers)

    def contribution(self, index: int) -> np.ndarray:
        """What layer ``index`` adds to :meth:`mixdown` (float64)."""
        return self.stems[index] * np.float64(self.layers[index].gain)

    def mixdown(self) -> np.ndarray:
        """The sum of every layer's contribution, before finishing (float64)."""
        total = np.zeros(self.stems[0].shape)
        for index in range(len(self.stems)):
            total += self.contribution(index)
        return total

    def remix(self, gains: Sequence[float]) -> Mix:
        """The same stems with new gains (one per layer, 0 to 2); nothing is re-rendered."""
        return Mix(self.check_gains(self.layers, gains), self.requests, self.stems, self.sample_rate)

    @staticmethod
    def check_gains(layers: Sequence[LayerSpec], gains: Sequence[float]) -> tuple[LayerSpec, ...]:
        """``layers`` at ``gains`` (one each, 0 to 2, not all 0); raises :class:`RequestError`."""
        if len(gains) != len(layers):
            raise RequestError(f"{len(gains)} levels were given for {len(layers)} layers.")
        checked = tuple(
            LayerSpec(layer.text, check_gain(layer.text, float(gain)), layer.model, layer.every_s)
            for layer, gain in zip(layers, gains, strict=True)
        )
        if all(layer.gain == 0.0 for layer in checked):
            raise RequestError("At least one layer needs a level above 0, or the mix is silent.")
        return checked

    def with_gain(self, index: int, gain: float) -> Mix:
        """The mix with layer ``index`` at ``gain``."""
        gains = list(self.gains)
        gains[index] = gain
        return self.remix(gains)

    def replace_layer(
        self,
        index: int,
        waveform: np.ndarray,
        request: GenerationRequest | None = None,
        *,
        sample_rate: int | None = None,
    ) -> Mix:
        """The mix with layer ``index`` re-rendered (``waveform``, by ``request``); the others untouched.

        The new waveform is brought to the mix's rate (from ``sample_rate``, default the mix's)
        and channels, normalised like the others and fitted to the mix's length (cut, or padded
        with silence if the model returned a few samples less).
        """
        length = self.stems[0].shape[0]
        raw = conform(waveform, sample_rate or self.sample_rate, self.sample_rate, self.channels)[:length]
        if raw.shape[0] < length:
            raw = np.pad(raw, [(0, length - raw.shape[0])] + [(0, 0)] * (raw.ndim - 1))
        stems = list(self.stems)
        requests = list(self.requests)
        if request is not None:
            requests[index] = request
        stems[index] = _event_stem(
            normalise_stem(raw, self.sample_rate), self.sample_rate, self.layers[index], requests[index].seed
        )
        return Mix(self.layers, tuple(requests), tuple(stems), self.sample_rate)

    def describe(self) -> str:
        """``"rain:1 + crickets:0.6"``"""
        return describe_layers(self.layers)

    def models(self, default: str) -> list[str]:
        """The model of each layer (``default`` for requests that name none)."""
        return [request.model or default for request in self.requests]

    def tags(self, model: str | Sequence[str]) -> Mp3Tags:
        """ID3 tags for the finished mix: every layer's prompt, the first layer's seed, and the
        model (or, one per layer, the models: each named once, in layer order)."""
        first = self.requests[0]
        models = [model] if isinstance(model, str) else list(dict.fromkeys(model))
        return Mp3Tags(
            prompt=f" {LAYER_SEPARATOR} ".join(r.prompt for r in self.requests),
            seed=first.seed,
            model=f" {LAYER_SEPARATOR} ".join(models),
            title=self.describe(),
            preset=" + ".join(r.preset or "none" for r in self.requests),
            steps=first.steps,
            guidance=first.guidance,
        )

    def finish(
        self, settings: FinishSettings = DEFAULT_SETTINGS, tags: Mp3Tags | None = None
    ) -> FinishedAudio:
        """The mix finished like a single clip (loudness target, true-peak ceiling, MP3)."""
        return finish(self.mixdown(), self.sample_rate, settings, tags)

    def save(self, file: BinaryIO) -> None:
        """Store the mix (stems, gains, requests) as an ``.npz`` archive."""
        meta = {
            "sample_rate": self.sample_rate,
            "layers": [layer_to_dict(layer) for layer in self.layers],
            "requests": [request.to_dict() for request in self.requests],
        }
        arrays = {f"stem{i}": stem for i, stem in enumerate(self.stems)}
        np.savez(file, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, file: BinaryIO) -> Mix:
        """A mix stored by :meth:`save`."""
        with np.load(file, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            stems = []
            for i in range(len(meta["layers"])):
                stem = archive[f"stem{i}"].astype(np.float32)
                stem.flags.writeable = False
                stems.append(stem)
        return cls(
            layers=tuple(layer_from_dict(layer) for layer in meta["layers"]),
            requests=tuple(GenerationRequest.from_dict(r) for r in meta["requests"]),
            stems=tuple(stems),
            sample_rate=int(meta["sample_rate"]),
        )
