"""Endless scenes (``scenes``, ``scene_takes``): one place for what a server's scene is made of.

The row holds the recipe takes are rendered from, the layers (with events' rates), the live
levels (0-100 per layer), the timeline's seed and the takes played so far; the takes are files
on disk, listed per layer. The now-playing message shows it, background renders add to it and a
restart resumes from it; every change writes here first.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.storage.database import Database

#: A layer's level (Levels button): 0 silent … 100 as mixed.
MAX_LEVEL = 100


@dataclass(frozen=True)
class SceneLayer:
    """One layer of a scene: a bed (``every_s`` None) or an event."""

    text: str
    gain: float = 1.0
    every_s: float | None = None
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "gain": self.gain, "every_s": self.every_s, "model": self.model}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneLayer:
        every = data.get("every_s")
        return cls(
            str(data["text"]),
            float(data.get("gain", 1.0)),
            None if every is None else float(every),
            data.get("model"),
        )


@dataclass(frozen=True)
class Scene:
    """One row of ``scenes``."""

    guild_id: int
    recipe: dict[str, Any]
    layers: tuple[SceneLayer, ...]
    levels: tuple[int, ...]
    seed: int
    source_job_id: int | None = None
    position: dict[str, Any] = field(default_factory=dict)
    endless: bool = True

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.layers):
            raise ValueError("a scene needs one level per layer")
        if any(not 0 <= level <= MAX_LEVEL for level in self.levels):
            raise ValueError(f"levels are 0 to {MAX_LEVEL}")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Scene:
        return cls(
            guild_id=row["guild_id"],
            recipe=json.loads(row["recipe"]),
            layers=tuple(SceneLayer.from_dict(d) for d in json.loads(row["layers"])),
            levels=tuple(int(v) for v in json.loads(row["levels"])),
            seed=row["seed"],
            source_job_id=row["source_job_id"],
            position=json.loads(row["position"]),
            endless=bool(row["endless"]),
        )


@dataclass(frozen=True)
class SceneTake:
    """One rendered take of a layer, stored with the job files."""

    id: int
    guild_id: int
    layer: int
    mp3_path: str
    seconds: float
    job_id: int | None
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SceneTake:
        return cls(
            row["id"],
            row["guild_id"],
            row["layer"],
            row["mp3_path"],
            row["seconds"],
            row["job_id"],
            row["created_at"],
        )


_SAVE = """
INSERT INTO scenes (
    guild_id, recipe, source_job_id, layers, levels, seed, position, endless, created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guild_id) DO UPDATE SET
    recipe = excluded.recipe,
    source_job_id = excluded.source_job_id,
    layers = excluded.layers,
    levels = excluded.levels,
    seed = excluded.seed,
    position = excluded.position,
    endless = excluded.endless,
    updated_at = excluded.updated_at
"""


class SceneStore:
    """Reads and writes of ``scenes`` and ``scene_takes``."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def save(self, scene: Scene) -> None:
        """Insert or replace the server's scene (its takes stay)."""
        now = self._clock()
        await self._db.execute(
            _SAVE,
            (
                scene.guild_id,
                json.dumps(scene.recipe),
                scene.source_job_id,
                json.dumps([layer.to_dict() for layer in scene.layers]),
                json.dumps(list(scene.levels)),
                scene.seed,
                json.dumps(scene.position),
                int(scene.endless),
                now,
                now,
            ),
        )

    async def get(self, guild_id: int) -> Scene | None:
        row = await self._db.fetchone("SELECT * FROM scenes WHERE guild_id = ?", (guild_id,))
        return None if row is None else Scene.from_row(row)

    async def all(self) -> list[Scene]:
        return [Scene.from_row(r) for r in await self._db.fetchall("SELECT * FROM scenes ORDER BY guild_id")]

    async def set_levels(self, guild_id: int, levels: Sequence[int]) -> bool:
        """Save new levels (one per layer, 0-100); False when the server has no scene."""
        if any(not 0 <= level <= MAX_LEVEL for level in levels):
            raise ValueError(f"levels are 0 to {MAX_LEVEL}")
        result = await self._db.execute(
            "UPDATE scenes SET levels = ?, updated_at = ? WHERE guild_id = ?",
            (json.dumps([int(v) for v in levels]), self._clock(), guild_id),
        )
        return result.rowcount == 1

    async def set_position(self, guild_id: int, position: dict[str, Any]) -> None:
        await self._db.execute(
            "UPDATE scenes SET position = ?, updated_at = ? WHERE guild_id = ?",
            (json.dumps(position), self._clock(), guild_id),
        )

    async def delete(self, guild_id: int) -> None:
        """Forget the scene and its takes' rows (retention then removes files no one needs)."""
        await self._db.execute("DELETE FROM scenes WHERE guild_id = ?", (guild_id,))

    # -- takes ----------------------------------------------------------------------------------

    async def add_take(
        self, guild_id: int, layer: int, mp3_path: str, seconds: float, job_id: int | None = None
    ) -> SceneTake:
        now = self._clock()
        result = await self._db.execute(
            "INSERT INTO scene_takes (guild_id, layer, job_id, mp3_path, seconds, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, layer, job_id, mp3_path, seconds, now),
        )
        assert result.lastrowid is not None
        return SceneTake(result.lastrowid, guild_id, layer, mp3_path, seconds, job_id, now)

    async def takes(self, guild_id: int, layer: int | None = None) -> list[SceneTake]:
        """The scene's takes, oldest first (of one layer, or all)."""
        if layer is None:
            rows = await self._db.fetchall(
                "SELECT * FROM scene_takes WHERE guild_id = ? ORDER BY id", (guild_id,)
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM scene_takes WHERE guild_id = ? AND layer = ? ORDER BY id", (guild_id, layer)
            )
        return [SceneTake.from_row(r) for r in rows]

    async def paths_in_use(self) -> set[str]:
        """Files some scene still plays: retention keeps them."""
        rows = await self._db.fetchall("SELECT DISTINCT mp3_path FROM scene_takes")
        return {r["mp3_path"] for r in rows}
