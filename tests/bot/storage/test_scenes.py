"""``scenes`` and ``scene_takes``: a scene's recipe, layers, levels and takes survive a reopen."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.scenes import Scene, SceneLayer, SceneStore


def scene(guild_id: int = 1) -> Scene:
    return Scene(
        guild_id=guild_id,
        recipe={"prompt": "rain", "duration_s": 60.0, "model": "tiny"},
        layers=(SceneLayer("rain"), SceneLayer("thunder", 0.5, every_s=60.0)),
        levels=(100, 80),
        seed=1234,
        source_job_id=None,
    )


async def test_a_scene_and_its_takes_survive_a_restart(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        store = SceneStore(db)
        await store.save(scene())
        first = await store.add_take(1, 0, "ab/one.mp3", 60.0)
        await store.add_take(1, 1, "ab/clap.mp3", 2.5)
        await store.add_take(1, 0, "ab/two.mp3", 61.0)
        assert await store.set_levels(1, [0, 55])
        await store.set_position(1, {"played": [first.id]})
    finally:
        await db.close()
    db = await Database.open(db_path)  # a restart
    try:
        store = SceneStore(db)
        saved = await store.get(1)
        assert saved is not None
        assert saved.layers[1] == SceneLayer("thunder", 0.5, every_s=60.0)
        assert saved.levels == (0, 55) and saved.seed == 1234 and saved.endless
        assert saved.position == {"played": [first.id]}
        assert [t.mp3_path for t in await store.takes(1, layer=0)] == ["ab/one.mp3", "ab/two.mp3"]
        assert await store.paths_in_use() == {"ab/one.mp3", "ab/two.mp3", "ab/clap.mp3"}
        await store.delete(1)
        assert await store.get(1) is None and await store.takes(1) == []  # takes go with it
        assert await store.paths_in_use() == set()
        assert not await store.set_levels(1, [1, 2])
    finally:
        await db.close()


async def test_levels_are_checked(db: Database) -> None:
    store = SceneStore(db)
    with pytest.raises(ValueError, match="0 to 100"):
        await store.set_levels(1, [101])
    with pytest.raises(ValueError, match="one level per layer"):
        Scene(1, {}, (SceneLayer("rain"),), (1, 2), 0)
