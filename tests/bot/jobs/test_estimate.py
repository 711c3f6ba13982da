"""Duration estimates, status texts and the edit throttle."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.jobs.estimate import DEFAULT_SECONDS_PER_UNIT, DurationEstimator, Throttle, work_units
from bot.ui.job_texts import format_eta, generating_text, queued_text, starting_text

# --- DurationEstimator -----------------------------------------------------------------------


def test_work_units() -> None:
    assert work_units(50, 10.0, 1) == 500.0
    assert work_units(100, 5.0, 3) == 1500.0


def test_default_guess_is_about_ten_seconds_for_a_ten_second_fifty_step_clip() -> None:
    estimator = DurationEstimator()
    assert estimator.estimate(50, 10.0, 1) == pytest.approx(10.0)
    assert estimator.estimate(50, 10.0, 3) == pytest.approx(30.0)
    assert estimator.estimate(100, 10.0, 1) == pytest.approx(20.0)
    assert estimator.seconds_per_unit == DEFAULT_SECONDS_PER_UNIT
    assert estimator.observations == 0


def test_initial_seconds_per_unit_is_configurable() -> None:
    assert DurationEstimator(initial_seconds_per_unit=0.1).estimate(10, 2.0, 1) == pytest.approx(2.0)


def test_first_observation_replaces_the_guess() -> None:
    estimator = DurationEstimator()
    assert estimator.observe(50, 10.0, 1, 100.0)  # a CPU: ten times slower than the guess
    assert estimator.seconds_per_unit == pytest.approx(0.2)
    assert estimator.estimate(25, 10.0, 2) == pytest.approx(100.0)
    assert estimator.observations == 1


def test_later_observations_are_an_exponential_moving_average() -> None:
    estimator = DurationEstimator(alpha=0.3)
    estimator.observe(50, 10.0, 1, 10.0)  # 0.02 s/unit
    estimator.observe(50, 10.0, 1, 20.0)  # 0.04 s/unit
    assert estimator.seconds_per_unit == pytest.approx(0.3 * 0.04 + 0.7 * 0.02)
    estimator.observe(100, 10.0, 1, 20.0)  # 0.02 s/unit
    assert estimator.seconds_per_unit == pytest.approx(0.3 * 0.02 + 0.7 * 0.026)
    assert estimator.observations == 3


def test_alpha_is_configurable() -> None:
    estimator = DurationEstimator(alpha=0.5)
    estimator.observe(1, 1.0, 1, 1.0)
    estimator.observe(1, 1.0, 1, 3.0)
    assert estimator.seconds_per_unit == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("steps", "duration_s", "waveforms", "seconds"),
    [
        (50, 10.0, 1, 0.0),
        (50, 10.0, 1, -3.0),
        (50, 10.0, 1, math.nan),
        (50, 10.0, 1, math.inf),
        (0, 10.0, 1, 5.0),
        (50, 0.0, 1, 5.0),
        (50, 10.0, 0, 5.0),
        (50, math.nan, 1, 5.0),
    ],
)
def test_invalid_observations_are_ignored(
    steps: int, duration_s: float, waveforms: int, seconds: float
) -> None:
    estimator = DurationEstimator()
    estimator.observe(50, 10.0, 1, 12.0)
    before = estimator.seconds_per_unit
    assert not estimator.observe(steps, duration_s, waveforms, seconds)
    assert estimator.seconds_per_unit == before
    assert estimator.observations == 1


def test_ignored_first_observation_keeps_the_guess() -> None:
    estimator = DurationEstimator()
    assert not estimator.observe(50, 10.0, 1, math.nan)
    assert estimator.seconds_per_unit == DEFAULT_SECONDS_PER_UNIT
    estimator.observe(50, 10.0, 1, 40.0)  # still counts as the first real one
    assert estimator.estimate(50, 10.0, 1) == pytest.approx(40.0)


def test_estimate_rejects_invalid_sizes() -> None:
    estimator = DurationEstimator()
    assert estimator.estimate(0, 10.0, 1) == 0.0
    with pytest.raises(ValueError):
        estimator.estimate(-1, 10.0, 1)
    with pytest.raises(ValueError):
        estimator.estimate(50, math.nan, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_seconds_per_unit": 0.0},
        {"initial_seconds_per_unit": -1.0},
        {"initial_seconds_per_unit": math.nan},
        {"alpha": 0.0},
        {"alpha": 1.5},
        {"alpha": math.nan},
    ],
)
def test_constructor_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DurationEstimator(**kwargs)


@given(st.lists(st.floats(min_value=0.1, max_value=1000.0), min_size=1, max_size=30))
def test_estimate_stays_within_observed_range(durations: list[float]) -> None:
    estimator = DurationEstimator()
    for seconds in durations:
        estimator.observe(50, 10.0, 1, seconds)
    estimate = estimator.estimate(50, 10.0, 1)
    assert min(durations) * (1 - 1e-9) <= estimate <= max(durations) * (1 + 1e-9)


# --- format_eta ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "a few seconds"),
        (-4.0, "a few seconds"),
        (math.nan, "a few seconds"),
        (2.9, "a few seconds"),
        (3.0, "about 5 s"),
        (5.0, "about 5 s"),
        (7.4, "about 5 s"),
        (7.5, "about 10 s"),
        (38.0, "about 40 s"),
        (40.0, "about 40 s"),
        (42.4, "about 40 s"),
        (55.0, "about 55 s"),
        (57.4, "about 55 s"),
        (57.5, "about 1 min"),
        (60.0, "about 1 min"),
        (89.0, "about 1 min"),
        (90.0, "about 2 min"),
        (125.0, "about 2 min"),
        (150.0, "about 3 min"),
        (59 * 60 + 29, "about 59 min"),
        (59 * 60 + 30, "about 1 h"),
        (3600.0, "about 1 h"),
        (3900.0, "about 1 h 5 min"),
        (3 * 3600 + 40 * 60 + 10, "about 3 h 40 min"),
        (math.inf, "a long while"),
    ],
)
def test_format_eta(seconds: float, text: str) -> None:
    assert format_eta(seconds) == text


# --- status texts ----------------------------------------------------------------------------


def test_queued_text_exact() -> None:
    assert queued_text(3, 7, 40.0) == "Queued — position 3 of 7, about 40 s"
    assert queued_text(1, 1, 1.0) == "Queued — position 1 of 1, a few seconds"
    assert queued_text(12, 30, 3900.0) == "Queued — position 12 of 30, about 1 h 5 min"


@pytest.mark.parametrize(("position", "total"), [(0, 3), (4, 3), (1, 0)])
def test_queued_text_rejects_impossible_positions(position: int, total: int) -> None:
    with pytest.raises(ValueError):
        queued_text(position, total, 10.0)


def test_generating_text_exact() -> None:
    assert generating_text(18, 50) == "Generating — 36 % (step 18/50)"
    assert generating_text(0, 50) == "Generating — 0 % (step 0/50)"
    assert generating_text(50, 50) == "Generating — 100 % (step 50/50)"
    assert generating_text(1, 3) == "Generating — 33 % (step 1/3)"
    assert generating_text(2, 3) == "Generating — 66 % (step 2/3)"  # floor, not round
    assert generating_text(149, 150) == "Generating — 99 % (step 149/150)"  # 100 % only when done


def test_generating_text_uses_plain_spaces_and_an_em_dash() -> None:
    text = generating_text(7, 10)
    assert "\u2014" in text
    assert "\u202f" not in text and "\u00a0" not in text
    assert "70 %" in text


def test_generating_text_clamps_step_and_validates_total() -> None:
    assert generating_text(60, 50) == "Generating — 100 % (step 50/50)"
    assert generating_text(-1, 50) == "Generating — 0 % (step 0/50)"
    with pytest.raises(ValueError):
        generating_text(1, 0)


@given(st.integers(1, 1000).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total))))
def test_generating_percent_is_floor(step_total: tuple[int, int]) -> None:
    step, total = step_total
    assert (
        generating_text(step, total)
        == f"Generating — {math.floor(100 * step / total)} % (step {step}/{total})"
    )


def test_starting_text() -> None:
    assert starting_text() == "Starting\u2026"


# --- Throttle --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_throttle_allows_one_edit_per_interval() -> None:
    clock = FakeClock()
    throttle = Throttle(1.5, clock=clock)
    assert throttle.interval_s == 1.5
    assert throttle.ready("msg")
    assert throttle.wait_time("msg") == 0.0
    throttle.mark("msg")
    assert not throttle.ready("msg")
    assert throttle.wait_time("msg") == pytest.approx(1.5)
    clock.now += 1.0
    assert not throttle.ready("msg")
    assert throttle.wait_time("msg") == pytest.approx(0.5)
    clock.now += 0.5
    assert throttle.ready("msg")
    assert throttle.wait_time("msg") == 0.0
    throttle.mark("msg")
    assert not throttle.ready("msg")


def test_throttle_keys_are_independent() -> None:
    clock = FakeClock()
    throttle = Throttle(1.5, clock=clock)
    throttle.mark(1)
    assert throttle.ready(2)
    clock.now += 1.0
    throttle.mark(2)
    clock.now += 0.6
    assert throttle.ready(1)
    assert not throttle.ready(2)
    assert throttle.wait_time(2) == pytest.approx(0.9)


def test_throttle_forget_allows_the_next_edit_at_once() -> None:
    clock = FakeClock()
    throttle = Throttle(1.5, clock=clock)
    throttle.mark("msg")
    throttle.forget("msg")
    throttle.forget("never-marked")
    assert throttle.ready("msg")


def test_throttle_drops_expired_keys() -> None:
    clock = FakeClock()
    throttle = Throttle(1.5, clock=clock)
    for key in range(100):
        throttle.mark(key)
        clock.now += 0.1
    assert len(throttle) <= 16  # only keys marked within the last 1.5 s are kept
    assert not throttle.ready(99)
    assert throttle.ready(0)


def test_throttle_clock_going_backwards_waits_at_most_one_interval() -> None:
    clock = FakeClock()
    throttle = Throttle(1.5, clock=clock)
    throttle.mark("msg")
    clock.now -= 10.0
    assert throttle.wait_time("msg") == pytest.approx(1.5)


def test_throttle_zero_interval_never_blocks() -> None:
    throttle = Throttle(0.0, clock=FakeClock())
    throttle.mark("msg")
    assert throttle.ready("msg")


def test_throttle_default_clock_is_real() -> None:
    throttle = Throttle(60.0)
    throttle.mark("msg")
    assert 59.0 < throttle.wait_time("msg") <= 60.0


@pytest.mark.parametrize("interval", [-1.0, math.nan, math.inf])
def test_throttle_validates_interval(interval: float) -> None:
    with pytest.raises(ValueError):
        Throttle(interval)
