"""/queue's visibility rule: this server's jobs in full, your own anywhere, the rest only counted."""

from __future__ import annotations

from bot.jobs.visibility import Viewer, may_see, visible_queue
from bot.storage import Job, JobStatus
from generation.request import GenerationRequest

HERE, THERE = 100, 200
ALICE, BOB, CAROL = 1, 2, 3


def job(job_id: int, user_id: int, guild_id: int | None, text: str = "rain") -> Job:
    request = GenerationRequest(text, text, "", None, True, 10.0, 50, 3.5, 7)
    return Job(
        id=job_id, status=JobStatus.QUEUED, kind="ambient", user_id=user_id, user_name=f"user{user_id}",
        guild_id=guild_id, channel_id=guild_id or user_id, request=request, variations=1,
        parent_job_id=None, reply_to_message_id=None, application_id=None, interaction_token=None,
        interaction_created_at=None, status_message_id=None, result_message_id=None,
        posting_started_at=None, created_at=0.0, started_at=None, finished_at=None, gen_seconds=None,
        error=None, attempts=0, idempotency_key=None,
    )  # fmt: skip


def test_who_sees_what() -> None:
    in_here, in_there, in_a_dm = job(1, ALICE, HERE), job(2, ALICE, THERE), job(3, ALICE, None)
    bob_here, bob_in_a_dm = Viewer(BOB, HERE), Viewer(BOB, None)
    assert may_see(in_here, bob_here)
    assert not may_see(in_there, bob_here)
    assert not may_see(in_a_dm, bob_here)  # someone's DM is theirs alone
    assert not may_see(in_here, bob_in_a_dm)
    # Your own jobs are yours to see wherever you ask from.
    for where in (HERE, THERE, None):
        assert all(may_see(j, Viewer(ALICE, where)) for j in (in_here, in_there, in_a_dm))


def test_waiting_jobs_keep_their_place_and_the_rest_is_counted() -> None:
    running = [job(1, ALICE, THERE)]
    waiting = [
        (job(2, BOB, HERE), 5.0),
        (job(3, CAROL, None, "secret"), 10.0),
        (job(4, CAROL, THERE), 15.0),
        (job(5, ALICE, HERE), 20.0),
    ]
    seen = visible_queue(running, waiting, Viewer(BOB, HERE))
    assert seen.running == ()
    assert [(place, j.id, eta) for place, j, eta in seen.waiting] == [(1, 2, 5.0), (4, 5, 20.0)]
    assert (seen.hidden, seen.total_running, seen.total_waiting) == (3, 1, 4)

    carol_in_dm = visible_queue(running, waiting, Viewer(CAROL, None))
    assert [j.id for _, j, _ in carol_in_dm.waiting] == [3, 4]
    assert carol_in_dm.hidden == 3
