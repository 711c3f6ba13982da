"""Helpers for the voice end-to-end tests: what the stand-in heard, compared with what was posted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.voice.loops import playable_loop
from tests.e2e.harness import World
from tests.e2e.helpers import is_result, job_id_of, mp3s, result_of
from tests.standin import Channel, InteractionHandle, User

FRAME = 960
RATE = 48_000
#: Playback starts with a 1 s fade-in; comparisons begin after it.
SETTLED_FRAMES = 75


async def voice_world(world: World, *listeners: User) -> Channel:
    """A voice channel ``Lounge`` with ``listeners`` (default: alice) sitting in it."""
    lounge = world.standin.add_voice_channel(world.guild.id, "Lounge")
    for user in listeners or (world.alice,):
        world.standin.join_voice(user, lounge.id)
    return lounge


async def command(world: World, name: str, user: User, **options: Any) -> InteractionHandle:
    return await world.standin.invoke_command(
        name, options, user=user, guild_id=world.guild.id, channel_id=world.channel_id
    )


async def private_answer(handle: InteractionHandle, timeout: float = 20.0) -> str:  # noqa: ASYNC109
    """The text of a private answer, whether the bot answered at once or deferred first."""
    response = await handle.response(timeout=timeout)
    assert response.ephemeral, response
    if response.type == 4:
        return str((response.data or {}).get("content", ""))
    # After a private deferral the first follow-up replaces the "thinking…" placeholder.
    return str((await handle.edit(0, timeout=timeout)).message["content"])


async def public_then_private(handle: InteractionHandle, timeout: float = 20.0) -> str:  # noqa: ASYNC109
    """``/play prompt:``: a public queue status, then a private line saying where it will play."""
    response = await handle.response(timeout=timeout)
    assert not response.ephemeral, response
    followup = await handle.followup(timeout=timeout)
    assert followup["flags"] & 64, followup
    return str(followup["content"])


async def loop_result(world: World, user: User, prompt: str, **options: Any) -> dict[str, Any]:
    """A short looping soundscape made with ``/ambient``: its posted result."""
    options = {"duration": 4.0, "loop": True, **options}
    handle = await command(world, "ambient", user, prompt=prompt, **options)
    return await result_of(world, handle)


async def play_button(world: World, result: dict[str, Any], user: User) -> InteractionHandle:
    """``user`` presses *Play in voice* under a result."""
    custom_id = f"ambientgen:voice:play:job:{job_id_of(result)}"
    return await world.standin.click_button(int(result["id"]), custom_id, user=user)


def expected_loop(world: World, result: dict[str, Any]) -> np.ndarray:
    """What the bot should play for a posted loop: its MP3, at 48 kHz stereo, mono-mixed."""
    data = world.standin.attachment_bytes(mp3s(result)[0])
    return playable_loop(data, already_loops=True).mean(axis=1)


def mono(audio: np.ndarray) -> np.ndarray:
    return audio.astype(np.float64).mean(axis=1)


@dataclass(frozen=True)
class Alignment:
    lag: int
    """Received sample ``i`` is loop sample ``(i + lag) % period``."""
    correlation: float


def align(received: np.ndarray, loop: np.ndarray) -> Alignment:
    """The circular shift that best matches ``received`` (one period or more) to ``loop``."""
    period = loop.shape[0]
    segment = received[:period]
    spectrum = np.fft.rfft(segment, period).conj() * np.fft.rfft(loop, period)
    scores = np.fft.irfft(spectrum, period)
    lag = int(np.argmax(scores))
    return Alignment(lag, correlation(received, loop, lag))


def aligned(loop: np.ndarray, start: int, count: int, lag: int) -> np.ndarray:
    return loop[(start + lag + np.arange(count)) % loop.shape[0]]


def correlation(received: np.ndarray, loop: np.ndarray, lag: int) -> float:
    expected = aligned(loop, 0, received.shape[0], lag)
    energy = float(np.sqrt(np.dot(received, received) * np.dot(expected, expected)))
    return float(np.dot(received, expected)) / energy if energy > 0 else 0.0


def gains(received: np.ndarray, loop: np.ndarray, lag: int, window: int = 480) -> np.ndarray:
    """Least-squares gain of ``received`` against the aligned loop, per ``window`` samples."""
    count = received.shape[0] // window
    r = received[: count * window].reshape(count, window)
    e = aligned(loop, 0, count * window, lag).reshape(count, window)
    return np.sum(r * e, axis=1) / np.maximum(np.sum(e * e, axis=1), 1e-12)


def turn_across_seam(received: np.ndarray, boundary: int, period: int) -> np.ndarray:
    """One period of ``received`` whose wrap-around is the stream's real seam at ``boundary``.

    The period centred on the boundary is rotated so the boundary sits at its ends: a loop
    measure (``seam_report``) then judges the junction the listener actually heard.
    """
    half = period // 2
    return np.roll(received[boundary - half : boundary - half + period], -half)


def result_job(message: dict[str, Any]) -> int:
    assert is_result(message), message
    return job_id_of(message)
