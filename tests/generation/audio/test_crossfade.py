"""The shared crossfade: equal power for uncorrelated audio, constant amplitude for identical audio."""

from __future__ import annotations

import numpy as np
import pytest

from generation.audio.crossfade import correlation, crossfade, crossfade_gains


def test_gains_start_and_end_exactly_on_each_signal() -> None:
    fade_out, fade_in = crossfade_gains(1000)
    assert (fade_out[0], fade_in[0]) == (1.0, 0.0)
    assert fade_out[-1] == pytest.approx(0.0, abs=1e-15) and fade_in[-1] == 1.0


def test_uncorrelated_gains_are_equal_power() -> None:
    fade_out, fade_in = crossfade_gains(777, rho=0.0)
    np.testing.assert_allclose(fade_out**2 + fade_in**2, 1.0, atol=1e-12)


def test_correlated_gains_are_constant_amplitude() -> None:
    fade_out, fade_in = crossfade_gains(777, rho=1.0)
    np.testing.assert_allclose(fade_out + fade_in, 1.0, atol=1e-12)
    # Negative correlation is treated as none.
    np.testing.assert_array_equal(crossfade_gains(50, rho=-0.7)[0], crossfade_gains(50, rho=0.0)[0])


def test_crossfade_keeps_level_of_noise_and_of_an_in_phase_tone() -> None:
    rng = np.random.default_rng(3)
    n = 48_000
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    mixed = crossfade(a, b)
    middle = slice(n // 2 - 4000, n // 2 + 4000)
    assert np.sqrt(np.mean(mixed[middle] ** 2)) == pytest.approx(1.0, rel=0.05)

    tone = np.sin(2 * np.pi * 220 * np.arange(n) / 16_000)
    assert correlation(tone, tone) == pytest.approx(1.0)
    np.testing.assert_allclose(crossfade(tone, tone), tone, atol=1e-9)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="equal length"):
        crossfade(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError, match="at least 1"):
        crossfade_gains(0)
    assert correlation(np.zeros(5), np.ones(5)) == 0.0


def test_stereo_is_blended_with_one_pair_of_curves() -> None:
    rng = np.random.default_rng(5)
    n = 44_100
    a, b = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    mixed = crossfade(a, b)
    assert mixed.shape == (n, 2)
    fade_out, fade_in = crossfade_gains(n, correlation(a, b))
    np.testing.assert_allclose(mixed, a * fade_out[:, None] + b * fade_in[:, None])
    # The joint correlation of both channels decides the curves: a stereo drone blended with
    # itself keeps constant amplitude on both sides.
    tone = np.sin(2 * np.pi * 220 * np.arange(n) / 44_100)
    drone = np.stack([tone, 0.5 * tone], axis=1)
    assert correlation(drone, drone) == pytest.approx(1.0)
    np.testing.assert_allclose(crossfade(drone, drone), drone, atol=1e-9)
    with pytest.raises(ValueError, match="equal length"):
        crossfade(a, b[:, :1])
