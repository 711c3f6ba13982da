"""Stems of layered scenes: stored once by content, read back at the job's levels, and deleted
once no scene uses them (history deletion, retention)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from bot.storage.database import Database
from bot.storage.jobs import JobStore
from bot.storage.stems import StemFiles
from generation.recipes.mixing import Mix
from generation.recipes.recipe import build_order
from tests.bot.storage.conftest import FakeClock, new_job

RATE = 16_000


def _scene(seed: int = 1) -> tuple[object, Mix]:
    request, recipe = build_order("rain:0.8 + crickets:0.4", duration=2.5, seed=seed)
    rng = np.random.default_rng(seed)
    waves = [rng.standard_normal(RATE * 2).astype(np.float32) * 0.1 for _ in recipe.layers]
    return (request, recipe), Mix.create(recipe.layers, recipe.layer_requests, waves, RATE)


async def test_a_scene_round_trips_and_a_level_change_stores_nothing_new(
    db: Database, jobs: JobStore, tmp_path: Path, clock: FakeClock
) -> None:
    stems = StemFiles(db, tmp_path, clock=clock)
    (request, recipe), mix = _scene()
    job = await new_job(jobs, request=request, recipe=recipe)
    digests = await stems.save(job.id, mix)
    loaded = await stems.load(job)
    assert loaded is not None and all(
        np.array_equal(a, b) for a, b in zip(loaded.stems, mix.stems, strict=True)
    )
    assert loaded.gains == (0.8, 0.4) and await stems.exists(job.id)

    remixed_recipe = dataclasses.replace(recipe, layers=mix.remix([0.8, 0.0]).layers, source_job_id=job.id)
    remix_job = await new_job(jobs, request=request, recipe=remixed_recipe)
    assert await stems.save(remix_job.id, mix.remix([0.8, 0.0])) == digests
    assert len(list((tmp_path / "stems").glob("*.npy"))) == 2  # the same two files
    assert (await stems.load(remix_job)).gains == (0.8, 0.0)  # type: ignore[union-attr]

    # Forgetting one scene keeps the files the other still uses; forgetting both deletes them.
    assert await stems.forget([job.id]) == 0
    assert await stems.load(job) is None and await stems.load(remix_job) is not None
    assert await stems.forget([remix_job.id]) == 2
    assert list((tmp_path / "stems").glob("*.npy")) == []


async def test_retention_forgets_scenes_stored_before_the_cutoff(
    db: Database, jobs: JobStore, tmp_path: Path, clock: FakeClock
) -> None:
    stems = StemFiles(db, tmp_path, clock=clock)
    (request, recipe), old_mix = _scene(1)
    old = await new_job(jobs, request=request, recipe=recipe)
    await stems.save(old.id, old_mix)
    clock.advance(86_400 * 10)
    (request, recipe), new_mix = _scene(2)
    new = await new_job(jobs, request=request, recipe=recipe)
    await stems.save(new.id, new_mix)
    assert await stems.forget_older_than(clock.now - 86_400 * 5) == 2
    assert await stems.load(old) is None and await stems.load(new) is not None


async def test_a_scene_stored_by_an_earlier_version_is_still_read(
    db: Database, jobs: JobStore, tmp_path: Path
) -> None:
    stems = StemFiles(db, tmp_path)
    (request, recipe), mix = _scene()
    job = await new_job(jobs, request=request, recipe=recipe)
    stems.root.mkdir(parents=True)
    with stems.legacy_path(job.id).open("wb") as file:
        mix.save(file)
    loaded = await stems.load(job)
    assert loaded is not None and np.array_equal(loaded.stems[1], mix.stems[1])
    await stems.forget([job.id])
    assert not stems.legacy_path(job.id).exists()
