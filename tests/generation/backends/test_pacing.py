"""Test-only pacing of the tiny model: holds are decided by the hold file alone, and cancellable."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from generation.backends.pacing import TestPacing
from generation.errors import Cancelled
from generation.prompting import build_request


def test_nothing_is_held_without_a_file_or_with_an_unrelated_line(tmp_path: Path) -> None:
    pacing = TestPacing(tmp_path / "hold")
    assert not pacing.holds(["rain on a roof"])
    (tmp_path / "hold").write_text("thunder\n\n", encoding="utf-8")
    assert not pacing.holds(["rain on a roof"])
    assert pacing.holds(["Distant THUNDER", "rain"])  # any request of the batch, any case
    (tmp_path / "hold").write_text("*\n", encoding="utf-8")
    assert pacing.holds(["anything at all"])
    assert not TestPacing().active and TestPacing(step_delay_s=0.1).active


def test_a_held_step_waits_until_the_file_releases_it(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.write_text("rain\n", encoding="utf-8")
    pacing = TestPacing(hold)
    calls = 0
    waiting = threading.Event()

    def still_wanted() -> None:
        nonlocal calls
        calls += 1
        waiting.set()

    worker = threading.Thread(target=pacing.after_step, args=(["rain"], still_wanted))
    worker.start()
    assert waiting.wait(10)  # it is waiting, and keeps reporting while it waits
    assert worker.is_alive()
    hold.write_text("thunder\n", encoding="utf-8")  # rewritten without "rain": released
    worker.join(10)
    assert not worker.is_alive() and calls >= 1


def test_a_held_step_stops_when_the_job_is_cancelled(tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    hold.write_text("*\n", encoding="utf-8")
    cancel = threading.Event()

    def still_wanted() -> None:
        if cancel.is_set():
            raise Cancelled()

    result: list[BaseException] = []

    def run() -> None:
        try:
            TestPacing(hold).after_step(["rain"], still_wanted)
        except Cancelled as exc:
            result.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    cancel.set()
    worker.join(10)
    assert not worker.is_alive() and len(result) == 1


def test_step_delay_waits_at_least_the_delay() -> None:
    started = time.monotonic()
    TestPacing(step_delay_s=0.05).after_step(["rain"], lambda: None)
    assert time.monotonic() - started >= 0.05
    with pytest.raises(ValueError, match="negative"):
        TestPacing(step_delay_s=-1)


def test_the_tiny_engine_holds_and_the_warm_up_never_does(tiny_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hold = tmp_path / "hold"
    hold.write_text("*\n", encoding="utf-8")
    request = build_request("rain", steps=10, duration=2.5, seed=1)
    engine_pacing = tiny_engine.pacing
    tiny_engine.pacing = TestPacing(hold)
    try:
        tiny_engine.warm_up(request)  # not held, though "*" holds everything
        steps: list[int] = []
        reported_thrice, done = threading.Event(), threading.Event()

        def progress(step: int, _total: int) -> None:
            steps.append(step)
            if len(steps) >= 3:
                reported_thrice.set()

        def generate() -> None:
            tiny_engine.generate([request], progress=progress)
            done.set()

        worker = threading.Thread(target=generate)
        worker.start()
        assert reported_thrice.wait(30)  # held after step 1, reporting it again while it waits
        assert set(steps[:3]) == {1} and not done.is_set()
        hold.unlink()
        worker.join(60)
        assert done.is_set() and steps[-1] == 10
    finally:
        tiny_engine.pacing = engine_pacing
