"""What an endless scene plays when: a pure plan from a seeded generator and a clock.

Nothing here reads a file, a clock or a global random state: given the scene's takes (their
lengths), its events and a seed, :class:`BedTimeline` answers which take plays next and where
the crossfade into it starts, and :class:`EventTimeline` when the next event sounds, which
one-shot it is, at what gain and position. The mixer only executes these answers, and the unit
tests check their statistics exactly with a fake clock (CONVENTIONS 17).

Units are samples at the player's rate throughout.

- **Beds.** A chain of takes, each played through once and crossfaded (equal power) into the
  next. The next take is the newest one not yet played if there is one (fresh material first),
  otherwise a random earlier take — never the one playing now. The crossfade starts
  ``crossfade`` samples before the take's end, moved earlier if it would cut an event of the
  take in half (takes carry the spans where their own loud moments are, when known).
- **Events.** Onsets are a Poisson process of the asked mean interval with a refractory gap of a
  quarter of it: each gap is ``mean/4 + Exp(3·mean/4)``, so the mean is exactly ``mean`` and no
  two onsets are closer than ``mean/4``. Each onset picks a one-shot (never the same twice in a
  row when there are several), a gain within ±:data:`EVENT_GAIN_SPREAD_DB` of the asked level and
  a stereo position within ±:data:`EVENT_PAN_SPREAD`.
- **Layers.** Each layer of a layered scene loops on its own length; :func:`layer_lengths`
  stretches the asked lengths a little so that no two share a short common period and the whole
  mix repeats only after hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Event gains vary by up to this much around the asked level, in dB.
EVENT_GAIN_SPREAD_DB = 3.0
#: Event positions vary by up to this much around the centre (-1 left … 1 right).
EVENT_PAN_SPREAD = 0.6
#: A layered mix should take at least this long to line up again.
MIN_MIX_PERIOD_S = 3 * 3600.0


@dataclass(frozen=True)
class Take:
    """One rendered take of a bed: its id, its length and where its own events are."""

    id: int
    frames: int
    busy: tuple[tuple[int, int], ...] = ()
    """Spans ``[start, end)`` a crossfade must not cut in half (e.g. a thunder clap in the bed)."""


@dataclass(frozen=True)
class Segment:
    """A take as the bed plays it: from ``start`` (player samples), faded in over ``fade_in``
    samples and faded out over the ``fade_out`` samples before ``start + length``."""

    take: Take
    start: int
    length: int
    fade_in: int
    fade_out: int

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def fade_out_at(self) -> int:
        """Where the crossfade into the next take starts."""
        return self.end - self.fade_out


@dataclass
class BedTimeline:
    """Which take plays after which, and where they crossfade (see the module docstring)."""

    crossfade: int
    seed: int
    played: list[int] = field(default_factory=list)
    """Take ids in the order they were played (the newest last)."""

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def choose(self, takes: Sequence[Take], current: int | None) -> Take:
        """The take after ``current``: an unplayed one (newest first), else a random earlier one,
        never ``current`` itself while another exists."""
        if not takes:
            raise ValueError("a bed needs at least one take")
        seen = set(self.played)
        fresh = [t for t in takes if t.id not in seen and t.id != current]
        if fresh:
            choice = max(fresh, key=lambda t: t.id)
        else:
            others = [t for t in takes if t.id != current] or list(takes)
            choice = others[int(self._rng.integers(len(others)))]
        self.played.append(choice.id)
        return choice

    def crossfade_point(self, take: Take, fade: int) -> int:
        """Where (in the take's samples) the crossfade out of ``take`` starts: ``fade`` before its
        end, or earlier so that no busy span is cut; never before the take's middle."""
        point = take.frames - fade
        floor = take.frames // 2
        for start, end in sorted(take.busy, reverse=True):
            # A span overlapping [point, point + fade) is cut by the fade: fade out before it starts.
            if start < point + fade and end > point and start - fade >= floor:
                point = min(point, start - fade)
        return max(point, floor)

    def next_segment(self, takes: Sequence[Take], previous: Segment | None) -> Segment:
        """The segment after ``previous`` (the first one when None)."""
        current = previous.take.id if previous is not None else None
        take = self.choose(takes, current)
        fade = min(self.crossfade, take.frames // 4)
        if previous is None:
            start, fade_in = 0, 0
        else:
            start, fade_in = previous.fade_out_at, previous.fade_out
        out_at = self.crossfade_point(take, fade)
        return Segment(take, start, out_at + fade, fade_in, fade)


@dataclass(frozen=True)
class EventSpec:
    """One event of a scene: its mean interval and level, and how many one-shots it has."""

    mean: int
    """Mean samples between onsets."""
    gain: float
    shots: int


@dataclass(frozen=True)
class Onset:
    at: int
    shot: int
    gain: float
    pan: float
    """-1 (left) … 1 (right)."""


def refractory_gap(mean: int) -> int:
    """No two onsets of an event closer than this: a quarter of its mean interval."""
    return mean // 4


@dataclass
class EventTimeline:
    """The onsets of one event (see the module docstring)."""

    spec: EventSpec
    seed: int
    last_shot: int | None = None

    def __post_init__(self) -> None:
        if self.spec.mean <= 0 or self.spec.shots <= 0:
            raise ValueError("an event needs a positive interval and at least one shot")
        self._rng = np.random.default_rng(self.seed)

    def gap(self) -> int:
        """Samples to the next onset: the refractory gap plus an exponential rest."""
        low = refractory_gap(self.spec.mean)
        return low + round(float(self._rng.exponential(self.spec.mean - low)))

    def next_onset(self, after: int) -> Onset:
        """The first onset after sample ``after`` (the previous onset, or the start)."""
        at = after + max(1, self.gap())
        shots = self.spec.shots
        if shots == 1:
            shot = 0
        else:
            shot = int(self._rng.integers(shots - 1 if self.last_shot is not None else shots))
            if self.last_shot is not None and shot >= self.last_shot:
                shot += 1  # every other shot, equally likely: never the same twice in a row
        self.last_shot = shot
        spread = float(self._rng.uniform(-EVENT_GAIN_SPREAD_DB, EVENT_GAIN_SPREAD_DB))
        pan = float(self._rng.uniform(-EVENT_PAN_SPREAD, EVENT_PAN_SPREAD))
        return Onset(at, shot, self.spec.gain * 10 ** (spread / 20), pan)

    def onsets(self, start: int, until: int) -> list[Onset]:
        """Every onset in ``(start, until]`` (advances the generator)."""
        out: list[Onset] = []
        at = start
        while True:
            onset = self.next_onset(at)
            if onset.at > until:
                return out
            out.append(onset)
            at = onset.at


def pan_gains(pan: float) -> tuple[float, float]:
    """Equal-power stereo gains for a position -1 (left) … 1 (right)."""
    angle = (min(max(pan, -1.0), 1.0) + 1.0) * math.pi / 4
    return math.cos(angle), math.sin(angle)


def mix_period(lengths: Sequence[int]) -> int:
    """Samples until loops of ``lengths`` line up again (their least common multiple)."""
    period = 1
    for n in lengths:
        period = period * n // math.gcd(period, n)
    return period


def layer_lengths(wanted: Sequence[int], rate: int) -> list[int]:
    """Loop lengths near ``wanted`` (each at most 2 % shorter) whose mix repeats as late as it
    can: each length is moved to a number of 10 ms steps that is prime and differs from the
    others', so the period is the product of the steps — for two 20 s layers about 11 hours,
    for three beyond a year (:data:`MIN_MIX_PERIOD_S` is what layers of 20 s or more reach)."""
    step = max(1, rate // 100)
    chosen: list[int] = []
    for n in wanted:
        units = max(2, n // step)
        floor = max(2, math.floor(units * 0.98))
        while units >= floor and (not _prime(units) or units * step in chosen):
            units -= 1
        chosen.append(units * step if units >= floor else n)
    return chosen


def _prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))
