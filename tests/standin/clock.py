"""The stand-in's injectable clock and Discord snowflake generator."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000


class Clock:
    """Wall-clock time plus a test-controlled offset (``advance`` only moves forward)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the Unix epoch, as the stand-in sees them."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the stand-in clock only moves forward")
        self._offset += seconds

    def iso(self, at: float | None = None) -> str:
        """ISO8601 timestamp in the format Discord uses (microseconds, +00:00)."""
        moment = datetime.fromtimestamp(self.now() if at is None else at, tz=UTC)
        return moment.isoformat(timespec="microseconds")


class SnowflakeFactory:
    """Generates strictly increasing snowflakes whose timestamps follow the clock."""

    def __init__(self, clock: Clock, *, worker: int = 1, process: int = 0) -> None:
        self._clock = clock
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._increment = 0
        self._last = 0

    def next(self) -> int:
        ms = int(self._clock.now() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        value = (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A snowflake that shard ``shard_id`` of ``shard_count`` owns: ``(id >> 22) % count == id``.

        The timestamp part moves a few milliseconds ahead when needed (still increasing).
        """
        value = self.next()
        ms = value >> 22
        ahead = (shard_id - ms) % shard_count
        if ahead:
            value = ((ms + ahead) << 22) | (value & ((1 << 22) - 1))
            self._last = value
        return value


def snowflake_time(snowflake: int) -> float:
    """Unix seconds encoded in a snowflake."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000
