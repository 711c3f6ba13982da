"""Best-of-N candidates: stored in rank order, each served to exactly one 🔁."""

from __future__ import annotations

from bot.storage import CandidateStore, Database, JobStore
from tests.bot.storage.conftest import make_request, new_job


async def test_candidates_are_served_best_first_once_each(db: Database, jobs: JobStore) -> None:
    store = CandidateStore(db)
    parent = await new_job(jobs)
    for rank, score in enumerate((0.9, 0.5, 0.2)):
        await store.add(
            parent.id, rank, score=score, request=make_request(seed=10 + rank), mp3_path=f"mp3/{rank}.mp3",
            mp3_sha256=str(rank), mp3_bytes=100, lufs=-18.0,
        )  # fmt: skip
    assert await store.unserved(parent.id) == 2  # rank 0 is the posted one
    first, second = await new_job(jobs), await new_job(jobs)
    served = await store.claim_next(parent.id, first.id)
    assert served is not None and (served.rank, served.request.seed) == (1, 11)
    # Idempotent for the same job (a restart re-serves the same candidate).
    again = await store.claim_next(parent.id, first.id)
    assert again is not None and again.rank == 1
    other = await store.claim_next(parent.id, second.id)
    assert other is not None and other.rank == 2
    assert await store.unserved(parent.id) == 0
    assert await store.claim_next(parent.id, (await new_job(jobs)).id) is None
    assert [c.served_by_job_id for c in await store.for_job(parent.id)] == [None, first.id, second.id]
