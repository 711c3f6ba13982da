"""The plan of a long render: its length checked and cut into overlapping segments of one request.

A render of ``length_s`` is cut into ``n`` equal segments of at most 30 s (the model's limit),
each the same request with its own seed (``seed + i``), overlapping by ``crossfade_s``; with
``loop`` the segments also cover the closing crossfade of the last one into the first.
:mod:`generation.recipes.long_render` renders and joins them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

from generation.errors import RequestError
from generation.prompting import format_number
from generation.request import MAX_DURATION_S, MAX_SEED, MIN_DURATION_S, GenerationRequest

#: Longest render, in seconds (10 minutes).
MAX_LENGTH_S = 600.0
MIN_LENGTH_S = MIN_DURATION_S

#: Overlap of consecutive segments (and of the loop closure): long enough that a change of
#: texture between two seeds reads as a drift, not a cut.
DEFAULT_CROSSFADE_S = 2.0
MAX_CROSSFADE_S = 5.0

#: Every segment is asked for this much more than it needs: the model may return up to one
#: mel frame (10 ms) less than asked.
SEGMENT_MARGIN_S = 0.05


@dataclass(frozen=True)
class LongRenderPlan:
    """The segments of one long render; built by :func:`plan_long_render`."""

    base: GenerationRequest
    length_s: float
    """Exact length of the result."""
    loop: bool
    crossfade_s: float
    """Overlap of consecutive segments and of the loop closure."""
    segments: tuple[GenerationRequest, ...]

    @property
    def count(self) -> int:
        return len(self.segments)

    @property
    def segment_s(self) -> float:
        return self.segments[0].duration_s


def _check_length(length_s: object) -> float:
    bounds = f"between {format_number(MIN_LENGTH_S)} seconds and {format_number(MAX_LENGTH_S / 60)} minutes"
    if isinstance(length_s, bool) or not isinstance(length_s, numbers.Real):
        raise RequestError(f"Length must be a number of seconds {bounds}; you passed {length_s!r}.")
    value = float(length_s)
    if not math.isfinite(value) or not MIN_LENGTH_S <= value <= MAX_LENGTH_S:
        raise RequestError(f"Length must be {bounds}; you asked for {format_number(value)} s.")
    return value


def plan_long_render(
    request: GenerationRequest,
    length_s: float,
    *,
    loop: bool = False,
    crossfade_s: float = DEFAULT_CROSSFADE_S,
    max_segment_s: float = MAX_DURATION_S,
) -> LongRenderPlan:
    """Cut a render of ``length_s`` seconds (2.5 s to 10 min) into segments of ``request``.

    The fewest equal segments of at most ``max_segment_s`` that cover the length plus the
    overlaps (and, looping, the closing crossfade); segment ``i`` has seed ``seed + i``. The
    request's own duration is not used. Raises :class:`RequestError` for a bad length.
    """
    length = _check_length(length_s)
    if not MIN_DURATION_S <= max_segment_s <= MAX_DURATION_S:
        raise ValueError(f"max_segment_s must be within the model's {MIN_DURATION_S:g}-{MAX_DURATION_S:g} s")
    if not 0.0 < crossfade_s <= MAX_CROSSFADE_S:
        raise ValueError(f"crossfade_s must be in (0, {MAX_CROSSFADE_S:g}] s, got {crossfade_s}")
    # A short render keeps three quarters of itself outside the crossfade.
    overlap = min(crossfade_s, length / 4)
    needed = length + (overlap if loop else 0.0)
    usable = max_segment_s - SEGMENT_MARGIN_S
    count = 1 if needed <= usable else math.ceil((needed - overlap) / (usable - overlap))
    # n segments of d - margin seconds each, overlapping by `overlap`, cover `needed`; rounded
    # up to 10 ms and never below the model's minimum.
    exact = (needed + (count - 1) * overlap) / count + SEGMENT_MARGIN_S
    duration = min(max(math.ceil(exact * 100) / 100, MIN_DURATION_S), max_segment_s)
    if count > 1 and duration < 3 * overlap:
        raise ValueError(f"segments of {duration:g} s are too short for {overlap:g} s crossfades")
    segments = tuple(
        dataclasses.replace(request, duration_s=duration, seed=(request.seed + i) % (MAX_SEED + 1))
        for i in range(count)
    )
    return LongRenderPlan(base=request, length_s=length, loop=loop, crossfade_s=overlap, segments=segments)
