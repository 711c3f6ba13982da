"""What every tab shares: the engine, the files, the presets file, and the helpers that turn the
render path's progress and errors into Gradio's."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from bot.studio.engine import StudioEngine
from bot.studio.files import StudioFiles
from bot.ui.job_texts import generation_failure
from generation.errors import GenerationError, RequestError
from generation.recipes.order import Progress, ProgressSink

log = logging.getLogger(__name__)

#: Players are the browser's own <audio> element (seekable, loopable, and what tests can drive).
PLAYER = gr.WaveformOptions(show_recording_waveform=False)

#: Where **Save as preset** writes without ``[presets] file`` in the config.
DEFAULT_PRESETS_FILE = Path("ambientgen-presets.json")


@dataclass
class Studio:
    """The engine and everything the page's handlers share."""

    engine: StudioEngine
    files: StudioFiles
    presets_file: Path = DEFAULT_PRESETS_FILE
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_number(self) -> int:
        """Takes are numbered across the page's sessions: #1, #2, …"""
        return next(self._numbers)

    def preset_choices(self) -> list[tuple[str, str]]:
        """The preset dropdown: "matched from the words", then every preset (extra ones too)."""
        from generation.presets import PRESETS

        return [("(matched from the words)", ""), *((p.label, p.key) for p in PRESETS.values())]

    def stop_handler(self) -> Callable[[gr.Request], str]:
        def stop(request: gr.Request) -> str:
            if self.engine.stop(request.session_hash or ""):
                return "Stopping after the current step…"
            return "Nothing of yours is rendering."

        return stop


def user_message(exc: BaseException) -> str:
    """An error as Discord words it: a bad request's own message, else what failed in plain terms."""
    if isinstance(exc, RequestError | GenerationError):
        return generation_failure(exc)
    if isinstance(exc, ValueError):
        return str(exc)
    log.error("studio: unexpected failure", exc_info=exc)
    return generation_failure(exc)


def progress_sink(progress: gr.Progress) -> tuple[ProgressSink, Callable[[], Progress | None]]:
    """A render progress sink that drives ``progress``, and a getter of the last update."""
    last: list[Progress] = []

    def sink(update: Progress) -> None:
        last[:] = [update]
        stage = f"{update.stage}: " if update.stage else ""
        progress((update.step, update.total), desc=f"{stage}step {update.step}/{update.total}", unit="steps")

    return sink, lambda: last[0] if last else None
