"""The endless-scene plan: its statistics checked exactly with a fixed seed and a fake clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot.voice.timeline import (
    MIN_MIX_PERIOD_S,
    BedTimeline,
    EventSpec,
    EventTimeline,
    Take,
    layer_lengths,
    mix_period,
    pan_gains,
    refractory_gap,
)

RATE = 48_000


def takes(count: int, seconds: float = 60.0) -> list[Take]:
    return [Take(i, round(seconds * RATE)) for i in range(1, count + 1)]


def test_fresh_takes_come_first_then_earlier_ones_never_back_to_back() -> None:
    timeline = BedTimeline(crossfade=3 * RATE, seed=1)
    pool = takes(3)
    first = timeline.next_segment(pool, None)
    assert (first.take.id, first.start, first.fade_in) == (3, 0, 0)  # the newest first
    segment, order = first, [first.take.id]
    for _ in range(400):
        segment = timeline.next_segment(pool, segment)
        order.append(segment.take.id)
    assert order[:3] == [3, 2, 1]  # every fresh take before any repeat
    assert all(a != b for a, b in itertools.pairwise(order))
    counts = np.bincount(order)[1:]
    assert counts.min() > 100  # the reshuffle uses every take, not a fixed pair


def test_a_new_take_is_played_as_soon_as_it_exists() -> None:
    timeline = BedTimeline(crossfade=RATE, seed=2)
    pool = takes(2)
    segment = timeline.next_segment(pool, None)
    segment = timeline.next_segment(pool, segment)
    segment = timeline.next_segment(pool, segment)  # a reshuffle: nothing fresh
    pool.append(Take(9, 60 * RATE))
    assert timeline.next_segment(pool, segment).take.id == 9


def test_segments_overlap_by_exactly_one_crossfade_without_a_gap() -> None:
    fade = 3 * RATE
    timeline = BedTimeline(crossfade=fade, seed=3)
    pool = takes(4, seconds=20.0)
    segment = timeline.next_segment(pool, None)
    for _ in range(50):
        following = timeline.next_segment(pool, segment)
        assert following.start == segment.end - fade == segment.fade_out_at
        assert following.fade_in == segment.fade_out == fade
        segment = following


def test_a_single_take_plays_on_rather_than_stopping() -> None:
    timeline = BedTimeline(crossfade=RATE, seed=4)
    pool = takes(1)
    segment = timeline.next_segment(pool, None)
    assert timeline.next_segment(pool, segment).take.id == 1


def test_the_crossfade_never_cuts_an_event_in_half() -> None:
    fade = 2 * RATE
    timeline = BedTimeline(crossfade=fade, seed=5)
    thunder = (57 * RATE, 59 * RATE)  # a clap right where the crossfade would fall
    take = Take(1, 60 * RATE, busy=(thunder, (10 * RATE, 11 * RATE)))
    point = timeline.crossfade_point(take, fade)
    assert point + fade <= thunder[0]  # faded out before the clap begins
    assert point == thunder[0] - fade
    quiet = Take(2, 60 * RATE, busy=((10 * RATE, 11 * RATE),))
    assert timeline.crossfade_point(quiet, fade) == 58 * RATE  # nothing in the way: at the end


def test_event_onsets_average_the_asked_interval_and_keep_the_refractory_gap() -> None:
    mean = 60 * RATE
    timeline = EventTimeline(EventSpec(mean=mean, gain=0.5, shots=3), seed=6)
    onsets = timeline.onsets(0, 20_000 * mean)
    gaps = np.diff([0] + [o.at for o in onsets])
    assert gaps.min() >= refractory_gap(mean) == mean // 4
    assert abs(gaps.mean() / mean - 1.0) < 0.02  # 20,000 draws: within 2 %
    # Poisson beyond the gap: the rest after the refractory part is exponential (its CV ≈ 1).
    rest = gaps - mean // 4
    assert 0.95 < rest.std() / rest.mean() < 1.05
    shots = [o.shot for o in onsets]
    assert all(a != b for a, b in itertools.pairwise(shots))
    assert set(shots) == {0, 1, 2}
    gains = np.array([o.gain for o in onsets])
    assert 0.5 * 10 ** (-3 / 20) - 1e-9 <= gains.min() and gains.max() <= 0.5 * 10 ** (3 / 20) + 1e-9
    assert gains.std() > 0.02  # the gains do vary
    pans = np.array([o.pan for o in onsets])
    assert -0.6 <= pans.min() < -0.5 and 0.5 < pans.max() <= 0.6


def test_the_same_seed_gives_the_same_plan() -> None:
    a = EventTimeline(EventSpec(mean=RATE * 10, gain=1.0, shots=2), seed=7).onsets(0, RATE * 1000)
    b = EventTimeline(EventSpec(mean=RATE * 10, gain=1.0, shots=2), seed=7).onsets(0, RATE * 1000)
    assert a == b
    c = EventTimeline(EventSpec(mean=RATE * 10, gain=1.0, shots=2), seed=8).onsets(0, RATE * 1000)
    assert a != c


def test_equal_power_positions() -> None:
    for pan in (-1.0, -0.3, 0.0, 0.6, 1.0):
        left, right = pan_gains(pan)
        assert left**2 + right**2 == pytest.approx(1.0)
    assert pan_gains(-1.0) == pytest.approx((1.0, 0.0))


@pytest.mark.parametrize("seconds", [[20.0, 20.0], [60.0, 45.0, 30.0], [90.0, 90.0, 90.0, 90.0]])
def test_layers_line_up_again_only_after_hours(seconds: list[float]) -> None:
    wanted = [round(s * RATE) for s in seconds]
    lengths = layer_lengths(wanted, RATE)
    assert len(set(lengths)) == len(lengths)
    for n, got in zip(wanted, lengths, strict=True):
        assert 0.98 * n <= got <= n
    assert mix_period(lengths) >= MIN_MIX_PERIOD_S * RATE
    # Equal lengths, as asked, would have lined up at once.
    assert mix_period(wanted) == max(wanted) or len(set(wanted)) > 1
