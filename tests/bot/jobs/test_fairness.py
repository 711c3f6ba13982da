"""Fair order of pending jobs (two-level round-robin) and the acceptance limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.fairness import DM_BUCKET, FairScheduler, Pending

GUILD = 1


def make(jobs: list[tuple[int, int, int | None]]) -> list[Pending]:
    return [Pending(job_id, user_id, guild_id) for job_id, user_id, guild_id in jobs]


def ids(order: list[Pending]) -> list[int]:
    return [item.job_id for item in order]


def users(order: list[Pending]) -> list[int]:
    return [item.user_id for item in order]


# --- required scenarios ---------------------------------------------------------------------


def test_new_user_goes_before_the_running_users_remaining_jobs() -> None:
    scheduler = FairScheduler()
    a1, a2, a3 = make([(1, 100, GUILD), (2, 100, GUILD), (3, 100, GUILD)])
    assert scheduler.order([a1, a2, a3]) == [a1, a2, a3]
    scheduler.served(a1, at=10.0)  # A1 starts running
    b1 = Pending(4, 200, GUILD)  # then B queues one
    assert scheduler.order([a2, a3, b1]) == [b1, a2, a3]
    assert scheduler.position([a2, a3, b1], 4) == (1, 3)  # so B1 runs second overall


def test_new_user_in_another_guild_also_goes_next() -> None:
    scheduler = FairScheduler()
    a1, a2, a3 = make([(1, 100, GUILD), (2, 100, GUILD), (3, 100, GUILD)])
    scheduler.served(a1, at=10.0)
    b1 = Pending(4, 200, 2)
    assert scheduler.order([a2, a3, b1]) == [b1, a2, a3]


def test_one_users_many_jobs_do_not_starve_the_others() -> None:
    scheduler = FairScheduler()
    pending = make([(i, 100, GUILD) for i in range(1, 11)])
    pending += make([(11, 201, GUILD), (12, 202, GUILD), (13, 203, GUILD)])
    order = scheduler.order(pending)
    second_of_a = ids(order).index(2)
    for other in (11, 12, 13):
        assert ids(order).index(other) < second_of_a
    assert ids(order) == [1, 11, 12, 13, *range(2, 11)]


def test_others_first_even_when_the_busy_user_queued_last() -> None:
    scheduler = FairScheduler()
    pending = make([(1, 201, GUILD), (2, 202, GUILD)]) + make([(i, 100, GUILD) for i in range(3, 13)])
    assert ids(scheduler.order(pending)) == list(range(1, 13))


def test_small_guild_gets_every_other_slot() -> None:
    scheduler = FairScheduler()
    x_users = [10, 11, 12, 13, 14]
    pending = make([(job_id, user, 1) for job_id, user in enumerate(x_users * 2, start=1)])
    pending += make([(11, 99, 2), (12, 99, 2)])
    order = scheduler.order(pending)
    y_slots = [index for index, item in enumerate(order) if item.guild_id == 2]
    assert y_slots == [1, 3]  # X's oldest job goes first, then Y, X, Y, and X's rest
    assert users(order)[:5] == [10, 99, 11, 99, 12]
    # Inside X the five users still rotate: each one's first job before anyone's second.
    x_order = [item for item in order if item.guild_id == 1]
    assert users(x_order) == x_users * 2


def test_small_guild_first_when_the_big_guild_was_served_last() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 10, 1), at=5.0)
    pending = make([(job_id, 10 + (job_id - 1) % 5, 1) for job_id in range(1, 11)])
    pending += make([(11, 99, 2), (12, 99, 2)])
    order = scheduler.order(pending)
    assert [index for index, item in enumerate(order) if item.guild_id == 2] == [0, 2]


def test_fifo_within_a_user_whatever_the_input_order() -> None:
    scheduler = FairScheduler()
    pending = make([(5, 100, GUILD), (3, 200, GUILD), (1, 100, GUILD), (4, 100, GUILD), (2, 200, GUILD)])
    order = scheduler.order(pending)
    assert [i for i in ids(order) if i in (1, 4, 5)] == [1, 4, 5]
    assert [i for i in ids(order) if i in (2, 3)] == [2, 3]
    assert ids(order) == [1, 2, 4, 3, 5]


# --- tie-breaking and history ----------------------------------------------------------------


def test_served_longest_ago_goes_first() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 100, GUILD), at=1.0)
    scheduler.served(Pending(0, 200, GUILD), at=2.0)
    scheduler.served(Pending(0, 300, GUILD), at=3.0)
    pending = make([(10, 300, GUILD), (11, 200, GUILD), (12, 100, GUILD)])
    assert users(scheduler.order(pending)) == [100, 200, 300]


def test_never_served_before_served_and_ties_by_oldest_job() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 100, GUILD), at=1.0)
    pending = make([(10, 100, GUILD), (12, 300, GUILD), (11, 200, GUILD)])
    assert users(scheduler.order(pending)) == [200, 300, 100]


def test_same_service_time_ties_by_oldest_pending_job() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 100, GUILD), at=1.0)
    scheduler.served(Pending(0, 200, GUILD), at=1.0)  # a batch started together
    pending = make([(20, 100, GUILD), (7, 200, GUILD)])
    assert users(scheduler.order(pending)) == [200, 100]


def test_guild_tie_uses_oldest_job_of_any_user_in_it() -> None:
    scheduler = FairScheduler()
    # Both guilds were never served. Guild 1's oldest job (1) beats guild 2's (2) even though
    # the user who goes first inside guild 1 is 11 (never served) with the newer job 4.
    scheduler.served(Pending(0, 10, 3), at=1.0)
    pending = make([(1, 10, 1), (4, 11, 1), (2, 20, 2)])
    assert ids(scheduler.order(pending)) == [4, 2, 1]


def test_out_of_order_service_report_does_not_go_back_in_time() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 100, GUILD), at=5.0)
    scheduler.served(Pending(0, 200, GUILD), at=3.0)
    scheduler.served(Pending(0, 100, GUILD), at=1.0)  # late report of an older start
    assert scheduler.last_served(user_id=100) == 5.0
    pending = make([(1, 100, GUILD), (2, 200, GUILD)])
    assert users(scheduler.order(pending)) == [200, 100]


def test_order_is_deterministic_and_does_not_change_history() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 2, 1), at=1.0)
    pending = make([(i, i % 4, (i % 3) or None) for i in range(1, 30)])
    first = scheduler.order(pending)
    assert scheduler.order(list(reversed(pending))) == first
    assert scheduler.order(pending) == first
    assert scheduler.last_served(user_id=1) is None


def test_direct_messages_share_one_bucket_like_a_server() -> None:
    scheduler = FairScheduler()
    # Guild 1 has two users; two DM users. Buckets: guild 1 and the DMs — each gets half, and
    # inside each bucket the users take turns.
    pending = make([(1, 10, 1), (2, 11, 1), (3, 30, None), (4, 40, None), (5, 10, 1), (6, 11, 1)])
    assert ids(scheduler.order(pending)) == [1, 3, 2, 4, 5, 6]
    assert Pending(3, 30, None).bucket == Pending(4, 40, None).bucket == DM_BUCKET
    assert Pending(1, 30, 1).bucket == ("guild", 1)


def test_a_dm_user_queueing_many_cannot_slow_other_dm_users() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(0, 30, None), at=1.0)
    assert scheduler.last_served(bucket=DM_BUCKET) == 1.0
    pending = make([(1, 30, None), (2, 30, None), (3, 30, None), (4, 40, None)])
    assert users(scheduler.order(pending)) == [40, 30, 30, 30]


def test_user_in_several_guilds_keeps_fifo_in_bucket_of_oldest_job() -> None:
    scheduler = FairScheduler()
    # User 10 queued in guild 1 (job 1) and guild 2 (job 2); user 20 only in guild 2.
    pending = make([(1, 10, 1), (2, 10, 2), (3, 20, 2), (4, 10, 1)])
    order = scheduler.order(pending)
    assert [i for i in ids(order) if i in (1, 2, 4)] == [1, 2, 4]
    # User 10 counts in guild 1 only, so guild 2 (user 20) alternates with them.
    assert ids(order) == [1, 3, 2, 4]


def test_served_updates_user_and_bucket() -> None:
    scheduler = FairScheduler()
    scheduler.served(Pending(1, 100, 7), at=12.5)
    assert scheduler.last_served(user_id=100) == 12.5
    assert scheduler.last_served(bucket=("guild", 7)) == 12.5
    assert scheduler.last_served(user_id=101) is None
    with pytest.raises(ValueError):
        scheduler.last_served()
    with pytest.raises(ValueError):
        scheduler.last_served(user_id=1, bucket=("guild", 1))


def test_served_rejects_non_finite_time() -> None:
    with pytest.raises(ValueError):
        FairScheduler().served(Pending(1, 1, 1), at=float("nan"))


def test_history_is_bounded_and_forgets_the_longest_ago_first() -> None:
    scheduler = FairScheduler(history_size=3)
    for at, user in enumerate([1, 2, 3, 4], start=1):
        scheduler.served(Pending(0, user, None), at=float(at))
    assert scheduler.last_served(user_id=1) is None  # forgotten: ranks as never served
    assert [scheduler.last_served(user_id=u) for u in (2, 3, 4)] == [2.0, 3.0, 4.0]
    assert scheduler.last_served(bucket=DM_BUCKET) == 4.0
    # Re-serving moves a user to the most recent end, so user 2 is the next one forgotten.
    scheduler.served(Pending(0, 2, None), at=5.0)
    scheduler.served(Pending(0, 5, None), at=6.0)
    assert scheduler.last_served(user_id=3) is None
    assert scheduler.last_served(user_id=2) == 5.0


def test_default_history_holds_ten_thousand_users() -> None:
    scheduler = FairScheduler()
    for user in range(10_001):
        scheduler.served(Pending(user, user, GUILD), at=float(user))
    assert scheduler.last_served(user_id=0) is None
    assert scheduler.last_served(user_id=1) == 1.0


def test_history_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FairScheduler(history_size=0)


def test_duplicate_job_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="job 1"):
        FairScheduler().order(make([(1, 10, 1), (1, 11, 1)]))


def test_empty_queue() -> None:
    scheduler = FairScheduler()
    assert scheduler.order([]) == []
    assert scheduler.position([], 1) is None


def test_position() -> None:
    scheduler = FairScheduler()
    pending = make([(1, 100, GUILD), (2, 100, GUILD), (3, 200, GUILD)])
    assert scheduler.position(pending, 1) == (1, 3)
    assert scheduler.position(pending, 3) == (2, 3)
    assert scheduler.position(pending, 2) == (3, 3)
    assert scheduler.position(pending, 99) is None


def test_large_queue_is_fast_enough() -> None:
    scheduler = FairScheduler()
    pending = make([(i, i % 500, i % 37) for i in range(20_000)])
    assert len(scheduler.order(pending)) == 20_000


# --- properties ------------------------------------------------------------------------------


@st.composite
def pending_lists(draw: st.DrawFn, one_guild: bool = False) -> list[Pending]:
    n = draw(st.integers(min_value=0, max_value=40))
    job_ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    user_ids = st.integers(0, 6)
    guild_ids = st.just(GUILD) if one_guild else st.one_of(st.none(), st.integers(0, 3))
    return [Pending(job_id, draw(user_ids), draw(guild_ids)) for job_id in job_ids]


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[Pending, float]]:
    events = draw(
        st.lists(
            st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(0, 3)), st.floats(0, 100)),
            max_size=10,
        )
    )
    return [(Pending(-1, user, guild), at) for user, guild, at in events]


def _scheduler_with(history: list[tuple[Pending, float]]) -> FairScheduler:
    scheduler = FairScheduler()
    for item, at in history:
        scheduler.served(item, at)
    return scheduler


@settings(max_examples=200, deadline=None)
@given(pending=pending_lists(), history=histories())
def test_order_is_a_permutation_keeping_each_users_fifo(
    pending: list[Pending], history: list[tuple[Pending, float]]
) -> None:
    scheduler = _scheduler_with(history)
    order = scheduler.order(pending)
    assert sorted(ids(order)) == sorted(ids(pending))
    assert set(order) == set(pending)
    for user in {item.user_id for item in pending}:
        own = [item.job_id for item in order if item.user_id == user]
        assert own == sorted(own)
    assert scheduler.order(list(reversed(pending))) == order
    if order:
        assert scheduler.position(pending, order[0].job_id) == (1, len(pending))
        assert scheduler.position(pending, order[-1].job_id) == (len(pending), len(pending))
    assert scheduler.position(pending, -5) is None


@settings(max_examples=200, deadline=None)
@given(pending=pending_lists(one_guild=True))
def test_without_history_every_prefix_covers_as_many_users_as_possible(pending: list[Pending]) -> None:
    order = FairScheduler().order(pending)
    n_users = len({item.user_id for item in pending})
    for k in range(len(order) + 1):
        assert len({item.user_id for item in order[:k]}) == min(k, n_users)


@settings(max_examples=150, deadline=None)
@given(pending=pending_lists(one_guild=True), history=histories())
def test_one_guild_is_round_robin_whatever_the_history(
    pending: list[Pending], history: list[tuple[Pending, float]]
) -> None:
    # After any prefix, nobody is more than one job ahead of a user who still has jobs waiting.
    order = _scheduler_with(history).order(pending)
    queued = {p.user_id: sum(1 for q in pending if q.user_id == p.user_id) for p in pending}
    taken = dict.fromkeys(queued, 0)
    for item in order:
        taken[item.user_id] += 1
        for waiting in (u for u in queued if taken[u] < queued[u]):
            assert max(taken.values()) - taken[waiting] <= 1
