"""The background lane's rules, with a fake clock: users first, one per server, a share of the GPU."""

from __future__ import annotations

import pytest

from bot.jobs.lanes import BackgroundLane


def test_users_go_first_and_each_server_renders_one_take_at_a_time() -> None:
    lane = BackgroundLane(share=1.0)
    lane.join(1)
    lane.join(2)
    assert not lane.may_start(1, users_waiting=1, now=0.0)  # a user job waits: never
    assert lane.may_start(1, users_waiting=0, now=0.0)
    lane.started(1, job_id=10, now=0.0)
    assert not lane.may_start(1, users_waiting=0, now=1.0)  # its take is still rendering
    assert lane.may_start(2, users_waiting=0, now=1.0)
    assert not lane.may_start(3, users_waiting=0, now=1.0)  # not playing: wants nothing


def test_background_work_never_takes_more_than_its_share() -> None:
    lane = BackgroundLane(share=0.5)
    lane.join(1)
    now, busy = 0.0, 0.0
    # Render as greedily as the rule allows for a simulated hour, 6 s per take.
    while now < 3600.0:
        if lane.may_start(1, users_waiting=0, now=now):
            lane.started(1, job_id=1, now=now)
            now += 6.0
            busy += 6.0
            lane.finished(1, now=now)
        else:
            now = max(now + 0.1, lane.next_allowed_at())
    assert busy / now == pytest.approx(0.5, abs=0.01)
    assert lane.gpu_seconds(now) == pytest.approx(busy, abs=6.0)


def test_a_stopped_player_names_its_running_render_and_wants_no_more() -> None:
    lane = BackgroundLane(share=0.5)
    lane.join(1)
    lane.started(1, job_id=42, now=0.0)
    assert lane.leave(1) == 42
    lane.finished(1, now=2.0)
    assert not lane.may_start(1, users_waiting=0, now=100.0)
    assert lane.leave(1) is None


def test_gpu_seconds_of_the_last_hour_for_status() -> None:
    lane = BackgroundLane(share=1.0)
    lane.join(1)
    lane.started(1, 1, now=0.0)
    lane.finished(1, now=10.0)
    lane.started(1, 2, now=3000.0)
    assert lane.gpu_seconds(now=3005.0) == pytest.approx(15.0)  # 10 done + 5 running
    lane.finished(1, now=3010.0)
    assert lane.gpu_seconds(now=3605.0) == pytest.approx(15.0)  # the first half-aged out
    assert lane.gpu_seconds(now=7300.0) == 0.0


def test_a_share_of_zero_renders_nothing() -> None:
    lane = BackgroundLane(share=0.0)
    lane.join(1)
    assert not lane.may_start(1, users_waiting=0, now=0.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        BackgroundLane(share=1.5)
