"""The loop monitor tells code blocking the loop from a loop that merely woke up late."""

from __future__ import annotations

import asyncio
import time

from bot.monitor import LoopMonitor


def _spin(seconds: float) -> None:
    # CPU time, not wall time: on a loaded machine the spin still does this much work on the loop.
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def _watch(blocker: object) -> LoopMonitor:
    monitor = LoopMonitor(interval_s=0.01)
    monitor.start()
    await asyncio.sleep(0.05)
    blocker()  # type: ignore[operator]
    await asyncio.sleep(0.05)
    await monitor.stop()
    return monitor


async def test_code_running_on_the_loop_counts_as_busy() -> None:
    monitor = await _watch(lambda: _spin(0.15))
    assert monitor.worst_ms >= 140
    assert monitor.worst_busy_ms >= 100


async def test_a_late_wake_up_without_the_loops_own_work_is_not_busy() -> None:
    # Sleeping stands for waiting on a CPU or the GIL: late, but no code of the loop ran.
    monitor = await _watch(lambda: time.sleep(0.15))
    assert monitor.worst_ms >= 140
    assert monitor.worst_busy_ms < 50


async def test_an_idle_loop_is_neither_late_nor_busy() -> None:
    monitor = await _watch(lambda: None)
    assert monitor.worst_busy_ms < 50


async def test_each_scrape_window_reports_its_own_worst_stall() -> None:
    monitor = LoopMonitor(interval_s=0.01)
    monitor.start()
    try:
        await asyncio.sleep(0.03)
        monitor.take_window_worst_s()  # start a fresh window
        _spin(0.3)  # blocks the loop on purpose
        await asyncio.sleep(0.03)
        first = monitor.take_window_worst_s()
        second = monitor.take_window_worst_s()  # nothing ran between: a new, empty window
    finally:
        await monitor.stop()
    assert first >= 0.28
    assert second == 0.0
    assert monitor.worst_ms >= 280  # the all-time worst is kept for the shutdown line
