"""What one run asks for, and the error for a run that cannot go as asked."""

from __future__ import annotations

from dataclasses import dataclass

from generation.presets import DEFAULT_STEPS


class BenchmarkError(RuntimeError):
    """The benchmark could not run as asked (not a measurement problem)."""


@dataclass(frozen=True)
class Settings:
    """What one run asks for; all of it is recorded in the report."""

    users: int = 20
    duration: float = 10.0
    steps: int = DEFAULT_STEPS
    max_batch: int = 0
    """``[queue] max_batch`` (0: the bot chooses)."""
    batch_window_ms: int | None = None
    """``[queue] batch_window_ms``; None leaves the bot's default."""
    guidance: float | None = 6.0
    """One guidance for every request, so all jobs are batch-compatible; None: each preset's own."""
    timeout_s: float = 900.0

    def overrides(self) -> dict[str, dict[str, object]]:
        queue: dict[str, object] = {"max_batch": self.max_batch}
        if self.batch_window_ms is not None:
            queue["batch_window_ms"] = self.batch_window_ms
        return {"queue": queue}
