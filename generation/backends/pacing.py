"""Test-only pacing of the built-in tiny models: hold a generation mid-way, slow every step, or fail.

The tiny models finish a job in well under a second on a fast machine, so a test can never
*count on* a job still running when it queues another one behind it, cancels it, kills the bot
under it or watches its progress. Such a test holds the job explicitly instead:

* ``hold_file`` — after each denoising step the generation waits while this file exists and
  one of its lines (case-insensitive) occurs in the text of a request being generated; a line
  ``*`` holds every generation. The test writes the file before the job starts and rewrites or
  deletes it to release the job, so which jobs wait is decided by the test alone, without races.
* ``step_delay_s`` — sleeps after every step: with it, the suite proves it does not depend on how
  fast (0) or slow (e.g. 0.2 s) the model runs.
* ``fail_file`` — after its first step, a generation fails (:class:`GenerationError`) while this
  file has a line that occurs in the text of one of its requests: how a test makes the model fail
  on a chosen job.

While waiting, ``still_wanted`` is called every :data:`POLL_S`: it re-reports the step (so a
cancelled job stops at once and the executor's watchdog does not count a held job as stuck).
Only the tiny models read these settings; the config refuses them for real models.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from generation.errors import GenerationError

#: How often a held generation looks at the hold file again.
POLL_S = 0.02
#: The hold file's line that holds every generation.
HOLD_ALL = "*"


@dataclass(frozen=True)
class TestPacing:
    """How a tiny model paces its steps (nothing by default)."""

    __test__ = False  # not a pytest test class, despite its name

    hold_file: Path | None = None
    step_delay_s: float = 0.0
    fail_file: Path | None = None

    def __post_init__(self) -> None:
        if self.step_delay_s < 0:
            raise ValueError(f"step_delay_s must not be negative; got {self.step_delay_s}")

    @property
    def active(self) -> bool:
        return self.hold_file is not None or self.step_delay_s > 0 or self.fail_file is not None

    def after_step(self, texts: Sequence[str], still_wanted: Callable[[], None]) -> None:
        """Wait (or fail) as configured after one step of generating ``texts``; ``still_wanted`` may raise."""
        if _matches(self.fail_file, texts):
            raise GenerationError("the test-only fail file names this request")
        if self.step_delay_s > 0:
            deadline = time.monotonic() + self.step_delay_s
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(POLL_S, left))
                still_wanted()
        while self.holds(texts):
            time.sleep(POLL_S)
            still_wanted()

    def holds(self, texts: Sequence[str]) -> bool:
        """Whether the hold file asks a generation of ``texts`` to wait now."""
        return _matches(self.hold_file, texts)


def _matches(path: Path | None, texts: Sequence[str]) -> bool:
    """Whether ``path`` exists and one of its lines occurs in one of ``texts`` ("*": always)."""
    if path is None:
        return False
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    patterns = [line.strip().lower() for line in lines if line.strip()]
    if HOLD_ALL in patterns:
        return True
    lowered = [text.lower() for text in texts]
    return any(pattern in text for pattern in patterns for text in lowered)
