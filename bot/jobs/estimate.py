"""How long jobs will take, and how often a status message may be edited."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

#: A 10-second clip with 50 steps and one waveform takes about 10 s on a recent GPU.
DEFAULT_SECONDS_PER_UNIT = 10.0 / (50 * 10.0 * 1)

#: Weight of the newest observation in the moving average.
DEFAULT_ALPHA = 0.3


def work_units(steps: int, duration_s: float, waveforms: int) -> float:
    """A job's work: denoising steps × seconds of audio × waveforms (variations).

    The seconds are those the model denoises, not those asked for (the queue sizes its jobs with
    :class:`bot.jobs.admission.JobSizes`): one seconds-per-unit then fits every model's clips.
    """
    return steps * duration_s * waveforms


class DurationEstimator:
    """Learns the GPU's seconds per work unit with an exponentially weighted moving average.

    The first observation replaces the constructor's guess outright: the guess is tuned for a GPU
    and may be off a hundredfold on another machine, which an average would take many jobs to
    unlearn. Later observations are blended in with weight ``alpha``.
    """

    def __init__(
        self, initial_seconds_per_unit: float = DEFAULT_SECONDS_PER_UNIT, alpha: float = DEFAULT_ALPHA
    ) -> None:
        if not (math.isfinite(initial_seconds_per_unit) and initial_seconds_per_unit > 0):
            raise ValueError(f"initial_seconds_per_unit must be positive, not {initial_seconds_per_unit!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], not {alpha!r}")
        self._seconds_per_unit = initial_seconds_per_unit
        self._alpha = alpha
        self._observations = 0

    @property
    def seconds_per_unit(self) -> float:
        return self._seconds_per_unit

    @property
    def observations(self) -> int:
        """How many observations were used (ignored ones do not count)."""
        return self._observations

    def estimate(self, steps: int, duration_s: float, waveforms: int) -> float:
        """Expected seconds for a job of this size."""
        return self.estimate_units(work_units(steps, duration_s, waveforms))

    def estimate_units(self, units: float) -> float:
        """Expected seconds for ``units`` of work (see :func:`work_units`)."""
        if not (math.isfinite(units) and units >= 0):
            raise ValueError(f"invalid job size: {units} work units")
        return units * self._seconds_per_unit

    def observe(self, steps: int, duration_s: float, waveforms: int, seconds: float) -> bool:
        """Learn from a finished job that took ``seconds``; returns whether it was used.

        Non-positive or non-finite times and sizes are ignored: a cancelled or failed job, or a
        clock hiccup, must not poison the estimate.
        """
        return self.observe_units(work_units(steps, duration_s, waveforms), seconds)

    def observe_units(self, units: float, seconds: float) -> bool:
        """:meth:`observe` for ``units`` of work (see :func:`work_units`)."""
        if not (math.isfinite(seconds) and seconds > 0 and math.isfinite(units) and units > 0):
            return False
        sample = seconds / units
        if self._observations == 0:
            self._seconds_per_unit = sample
        else:
            self._seconds_per_unit = self._alpha * sample + (1 - self._alpha) * self._seconds_per_unit
        self._observations += 1
        return True


class Throttle:
    """Rate limit per key (e.g. per Discord message): at most one mark every ``interval_s``.

    Usage: ``if throttle.ready(key): edit(); throttle.mark(key)``. Keys whose interval has passed
    are dropped as new ones are marked, so memory stays bounded without explicit cleanup.
    """

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(interval_s) and interval_s >= 0):
            raise ValueError(f"interval_s must be a non-negative number, not {interval_s!r}")
        self._interval = interval_s
        self._clock = clock
        # Ordered by mark time (the clock is monotonic), so expired keys sit at the front.
        self._marked: OrderedDict[Hashable, float] = OrderedDict()

    @property
    def interval_s(self) -> float:
        return self._interval

    def wait_time(self, key: Hashable) -> float:
        """Seconds until ``key`` may be marked again (0.0: now)."""
        last = self._marked.get(key)
        if last is None:
            return 0.0
        elapsed = self._clock() - last
        # A clock that went backwards never makes the wait longer than one interval.
        return min(self._interval, max(0.0, self._interval - elapsed))

    def ready(self, key: Hashable) -> bool:
        """Whether an edit for ``key`` may be sent now."""
        return self.wait_time(key) <= 0.0

    def mark(self, key: Hashable) -> None:
        """Record that an edit for ``key`` was sent now."""
        now = self._clock()
        self._marked.pop(key, None)
        self._marked[key] = now
        while self._marked:
            oldest_key, at = next(iter(self._marked.items()))
            if now - at < self._interval:
                break
            del self._marked[oldest_key]

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` (its message is final); its next edit is allowed at once."""
        self._marked.pop(key, None)

    def __len__(self) -> int:
        """Keys still within their interval (or not yet pruned)."""
        return len(self._marked)
