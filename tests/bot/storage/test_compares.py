"""The compare store: hidden models until the reveal, one changeable vote each, the reveal by
count or by hand, and a server's tally by preset."""

from __future__ import annotations

import pytest

from bot.storage import HIDDEN_MODEL, KIND_COMPARE, CompareStore, Database, GenerationStore, Job, JobStore
from bot.storage.compares import VotingClosed, winner_of
from generation.recipes.recipe import Recipe
from tests.bot.storage.conftest import FakeClock, make_request, new_job


async def comparison(
    jobs: JobStore, generations: GenerationStore, guild: int = 10, preset: str = "rain"
) -> Job:
    takes = (make_request(model="tiny-sao", preset=preset), make_request(model="tiny", preset=preset))
    job = await new_job(
        jobs, kind=KIND_COMPARE, guild_id=guild, request=make_request(preset=preset), variations=2,
        recipe=Recipe(compare=takes),
    )  # fmt: skip
    for index, take in enumerate(takes):
        await generations.add(
            job, index, take, model=HIDDEN_MODEL, mp3_path=f"{job.id}-{index}.mp3", mp3_sha256="0" * 64,
            mp3_bytes=10, lufs=-18.0, gen_seconds=1.0,
        )  # fmt: skip
    return job


async def test_votes_are_one_per_listener_and_the_count_reveals(
    db: Database, jobs: JobStore, generations: GenerationStore, clock: FakeClock
) -> None:
    store = CompareStore(db, clock)
    job = await comparison(jobs, generations)
    await store.ensure(job)
    await store.ensure(job)  # idempotent
    state = await store.get(job.id)
    assert state is not None and state.models == ("tiny-sao", "tiny") and not state.revealed
    first = await store.vote(job.id, 1, "A", reveal_after=3)
    assert (first.previous, first.state.votes, first.revealed_now) == (None, (1, 0), False)
    changed = await store.vote(job.id, 1, "B", reveal_after=3)
    assert (changed.previous, changed.state.votes) == ("A", (0, 1))
    await store.vote(job.id, 2, "B", reveal_after=3)
    rows = await db.fetchall("SELECT model FROM generations WHERE job_id = ?", (job.id,))
    assert {row["model"] for row in rows} == {HIDDEN_MODEL}  # still blind
    last = await store.vote(job.id, 3, "A", reveal_after=3)
    assert last.revealed_now and last.state.winner == "B" and last.state.votes == (1, 2)
    rows = await db.fetchall(
        "SELECT model FROM generations WHERE job_id = ? ORDER BY variation_index", (job.id,)
    )
    assert [row["model"] for row in rows] == ["tiny-sao", "tiny"]
    with pytest.raises(VotingClosed):
        await store.vote(job.id, 4, "A", reveal_after=3)
    with pytest.raises(ValueError, match="side must be A or B"):
        await store.vote(job.id, 4, "C", reveal_after=3)
    with pytest.raises(LookupError):
        await store.vote(job.id + 100, 4, "A", reveal_after=3)


async def test_reveal_by_hand_settles_ties_and_the_tally_counts_by_preset(
    db: Database, jobs: JobStore, generations: GenerationStore, clock: FakeClock
) -> None:
    store = CompareStore(db, clock)
    rain = await comparison(jobs, generations, preset="rain")
    ocean = await comparison(jobs, generations, preset="ocean")
    elsewhere = await comparison(jobs, generations, guild=99)
    blind = await comparison(jobs, generations)
    for job in (rain, ocean, elsewhere, blind):
        await store.ensure(job)
    await store.vote(rain.id, 1, "A", reveal_after=0)  # 0: never by count
    assert not (await store.vote(rain.id, 2, "A", reveal_after=0)).state.revealed
    assert (await store.reveal(rain.id)).winner == "A"
    assert (await store.reveal(rain.id)).winner == "A"  # idempotent
    assert (await store.reveal(ocean.id)).winner == "tie"  # nobody voted
    await store.reveal(elsewhere.id)
    everything, *presets = await store.tally(10)
    assert everything.preset == "*" and everything.comparisons == 2  # not the blind one, not guild 99
    sao, tiny = everything.ranked()
    assert (sao.model, sao.wins, sao.ties, sao.comparisons) == ("tiny-sao", 1, 1, 2)
    assert (tiny.model, tiny.wins, tiny.ties) == ("tiny", 0, 1)
    assert sorted(p.preset or "" for p in presets) == ["ocean", "rain"]
    assert await store.tally(12345) == []


def test_winner() -> None:
    assert winner_of((2, 1)) == "A" and winner_of((0, 3)) == "B" and winner_of((1, 1)) == "tie"
