"""Voice players and pending voice requests: what plays where, so a restart can resume it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.storage.database import Database


class TrackKind(StrEnum):
    JOB = "job"
    """A posted result (its first file)."""
    HISTORY = "history"
    """A generation from someone's history."""
    GALLERY = "gallery"
    """A server gallery entry."""


@dataclass(frozen=True, slots=True)
class Track:
    """A soundscape a player can play: a stored MP3 and how to show it."""

    kind: TrackKind
    ref_id: int
    title: str
    mp3_path: str
    loops: bool
    """Made as a loop: played round as it is (otherwise a loop is cut from it)."""


@dataclass(frozen=True, slots=True)
class PlayerState:
    """One row of ``voice_players``."""

    guild_id: int
    voice_channel_id: int
    text_channel_id: int
    track: Track
    volume: int
    started_by: int
    message_id: int | None = None
    paused: bool = False
    sleep_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PlayerState:
        track = Track(
            TrackKind(row["track_kind"]), row["track_id"], row["title"], row["mp3_path"], bool(row["loops"])
        )
        return cls(
            guild_id=row["guild_id"],
            voice_channel_id=row["voice_channel_id"],
            text_channel_id=row["text_channel_id"],
            track=track,
            volume=row["volume"],
            started_by=row["started_by"],
            message_id=row["message_id"],
            paused=bool(row["paused"]),
            sleep_at=row["sleep_at"],
        )


@dataclass(frozen=True, slots=True)
class VoiceRequest:
    """A ``/play prompt:`` waiting for its job: where to play it once delivered."""

    job_id: int
    guild_id: int
    voice_channel_id: int
    text_channel_id: int
    user_id: int
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> VoiceRequest:
        return cls(*(row[key] for key in cls.__slots__))  # type: ignore[attr-defined]


_SAVE = """
INSERT INTO voice_players (
    guild_id, voice_channel_id, text_channel_id, message_id, track_kind, track_id, title, mp3_path,
    loops, volume, paused, sleep_at, started_by, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guild_id) DO UPDATE SET
    voice_channel_id = excluded.voice_channel_id,
    text_channel_id = excluded.text_channel_id,
    message_id = excluded.message_id,
    track_kind = excluded.track_kind,
    track_id = excluded.track_id,
    title = excluded.title,
    mp3_path = excluded.mp3_path,
    loops = excluded.loops,
    volume = excluded.volume,
    paused = excluded.paused,
    sleep_at = excluded.sleep_at,
    started_by = excluded.started_by,
    updated_at = excluded.updated_at
"""


class PlayerStore:
    """Reads and writes of ``voice_players`` and ``voice_requests``."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    # -- players ------------------------------------------------------------------------------

    async def save(self, state: PlayerState) -> None:
        """Insert or replace the guild's player row."""
        t = state.track
        await self._db.execute(
            _SAVE,
            (
                state.guild_id,
                state.voice_channel_id,
                state.text_channel_id,
                state.message_id,
                t.kind.value,
                t.ref_id,
                t.title,
                t.mp3_path,
                int(t.loops),
                state.volume,
                int(state.paused),
                state.sleep_at,
                state.started_by,
                self._clock(),
            ),
        )

    async def get(self, guild_id: int) -> PlayerState | None:
        row = await self._db.fetchone("SELECT * FROM voice_players WHERE guild_id = ?", (guild_id,))
        return None if row is None else PlayerState.from_row(row)

    async def all(self) -> list[PlayerState]:
        rows = await self._db.fetchall("SELECT * FROM voice_players ORDER BY updated_at")
        return [PlayerState.from_row(row) for row in rows]

    async def delete(self, guild_id: int) -> bool:
        result = await self._db.execute("DELETE FROM voice_players WHERE guild_id = ?", (guild_id,))
        return result.rowcount > 0

    # -- requests -----------------------------------------------------------------------------

    async def add_request(
        self, job_id: int, *, guild_id: int, voice_channel_id: int, text_channel_id: int, user_id: int
    ) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO voice_requests VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, guild_id, voice_channel_id, text_channel_id, user_id, self._clock()),
        )

    async def take_request(self, job_id: int) -> VoiceRequest | None:
        """Remove and return the request for ``job_id``: of two callers, exactly one gets it."""
        row = await self._db.fetchone("DELETE FROM voice_requests WHERE job_id = ? RETURNING *", (job_id,))
        return None if row is None else VoiceRequest.from_row(row)

    async def requests(self) -> list[VoiceRequest]:
        rows = await self._db.fetchall("SELECT * FROM voice_requests ORDER BY created_at, job_id")
        return [VoiceRequest.from_row(row) for row in rows]

    async def gallery_entry_of_post(self, message_id: int) -> int | None:
        """The gallery entry a "played from the gallery" message carries, if it is one."""
        row = await self._db.fetchone(
            "SELECT entry_id FROM gallery_posts WHERE message_id = ?", (message_id,)
        )
        return None if row is None else int(row["entry_id"])

    async def drop_requests(self, guild_id: int) -> int:
        """Forget every waiting request of a guild (the player was stopped)."""
        result = await self._db.execute("DELETE FROM voice_requests WHERE guild_id = ?", (guild_id,))
        return result.rowcount
