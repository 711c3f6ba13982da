"""The live mix: loops go round, crossfades keep the level, gains glide sample by sample."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.voice.mixer import Envelope, LoopMixer, glide

RATE = 48_000


def loop_of(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mono = rng.standard_normal(round(seconds * RATE)) * 0.1
    return np.stack([mono, mono], axis=1).astype(np.float32)


def read_seconds(mixer: LoopMixer, seconds: float) -> np.ndarray:
    return np.concatenate([mixer.read() for _ in range(round(seconds * 50))])


def test_glide_is_flat_at_both_ends_and_lands_on_target() -> None:
    curve = glide(1.0, 0.5, 1000)
    assert curve[-1] == 0.5 and curve[0] == pytest.approx(1.0, abs=1e-5)
    steps = np.abs(np.diff(curve))
    assert steps[0] < steps[500] and steps[-1] < steps[500]
    assert np.all(np.diff(curve) <= 0)


def test_envelope_follows_then_holds() -> None:
    envelope = Envelope(1.0)
    envelope.glide_to(0.0, 0.001)  # 48 samples
    taken = envelope.take(100)
    assert taken[47] == 0.0 and np.all(taken[48:] == 0.0) and envelope.settled and envelope.target == 0.0


def test_the_loop_goes_round_after_a_smooth_start() -> None:
    loop = loop_of(0.5, 1)
    mixer = LoopMixer(loop, volume=1.0, fade_in_s=0.1)
    out = read_seconds(mixer, 1.5)
    assert abs(out[0, 0]) < 1e-3  # starts from silence, not with a click
    np.testing.assert_allclose(out[RATE // 2 : RATE], loop, atol=1e-6)  # second turn: the loop itself
    np.testing.assert_allclose(out[RATE : RATE * 3 // 2], loop, atol=1e-6)


def test_volume_glides_without_a_step() -> None:
    loop = np.ones((RATE, 2), dtype=np.float32) * 0.5  # a constant shows the gain directly
    mixer = LoopMixer(loop, volume=1.0, fade_in_s=0.001)
    mixer.read()
    mixer.set_volume(0.5)
    out = read_seconds(mixer, 1.0)[:, 0]
    assert out[-1] == pytest.approx(0.25)
    # No zipper: the gain changes every sample, by a sliver, never per 20 ms block.
    steps = np.abs(np.diff(out))
    assert steps.max() < 0.25 * np.pi / (2 * 0.4 * RATE) * 1.01
    assert np.count_nonzero(steps[: round(0.4 * RATE)]) > 0.9 * 0.4 * RATE


def test_switching_crossfades_at_equal_power() -> None:
    first, second = loop_of(2.0, 1), loop_of(2.0, 2)
    mixer = LoopMixer(first, volume=1.0, fade_in_s=0.001)
    read_seconds(mixer, 0.5)
    mixer.switch(second, crossfade_s=1.0)
    assert mixer.switching
    out = read_seconds(mixer, 2.0)[:, 0]
    rms = np.sqrt(np.mean(out[: RATE * 3 // 2].reshape(-1, 4800) ** 2, axis=1))
    assert rms.min() > 0.085 and rms.max() < 0.115  # 0.1 throughout: no dip, no swell
    assert not mixer.switching
    np.testing.assert_allclose(out[RATE:], second[RATE:, 0], atol=1e-6)  # then only the new loop


def test_a_second_switch_mid_crossfade_has_no_jump() -> None:
    mixer = LoopMixer(loop_of(2.0, 1), volume=1.0, fade_in_s=0.001)
    read_seconds(mixer, 0.2)
    mixer.switch(loop_of(2.0, 2), crossfade_s=1.0)
    read_seconds(mixer, 0.5)
    before = mixer.read()
    mixer.switch(loop_of(2.0, 3), crossfade_s=1.0)
    after = mixer.read()
    typical = np.percentile(np.abs(np.diff(before[:, 0])), 99.9)
    assert abs(after[0, 0] - before[-1, 0]) < 2 * typical


def test_pause_fade_out_and_coming_back() -> None:
    loop = np.ones((RATE, 2), dtype=np.float32) * 0.5
    mixer = LoopMixer(loop, volume=1.0, fade_in_s=0.001)
    mixer.read()
    mixer.pause()
    assert not mixer.silent
    read_seconds(mixer, 0.2)
    assert mixer.silent and np.all(mixer.read() == 0.0)
    mixer.resume()
    assert read_seconds(mixer, 0.2)[-1, 0] == pytest.approx(0.5)
    mixer.fade_out(0.5)
    read_seconds(mixer, 0.6)
    assert mixer.silent
    mixer.cancel_fade(0.1)
    assert read_seconds(mixer, 0.2)[-1, 0] == pytest.approx(0.5)


def test_pcm_frames_are_what_discord_wants() -> None:
    loop = np.ones((RATE, 2), dtype=np.float32) * 2.0  # over full scale: clipped, never wrapped
    mixer = LoopMixer(loop, volume=1.0, fade_in_s=0.001)
    mixer.read()
    frame = mixer.read_pcm()
    assert len(frame) == 960 * 2 * 2
    assert set(np.frombuffer(frame, dtype="<i2").tolist()) == {32767}


def test_reads_and_changes_from_two_threads_stay_whole() -> None:
    mixer = LoopMixer(loop_of(1.0, 1), volume=1.0, fade_in_s=0.01)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(300):
                assert mixer.read().shape == (960, 2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(200):
        mixer.set_volume((i % 10) / 10)
        if i % 50 == 0:
            mixer.switch(loop_of(1.0, i), crossfade_s=0.05)
    thread.join()
    assert not errors


def test_a_loop_must_be_stereo_frames() -> None:
    with pytest.raises(ValueError, match="a loop must be"):
        LoopMixer(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="a loop must be"):
        LoopMixer(np.zeros(48_000))
