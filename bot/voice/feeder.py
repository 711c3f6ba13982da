"""The thread that keeps every playing source a few hundred milliseconds ahead.

One thread serves every player of the process: decoding and resampling a second of audio costs
a few milliseconds, so one thread keeps fifty servers fed, and the audio threads never touch a
file. It wakes when a source runs low (the source asks) and at least every
:data:`POLL_S`. A source that fails (its file became unreadable) is logged at ERROR and
dropped — it then plays silence — and the thread goes on with the others; the thread itself
never dies of one source's error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from bot.voice.memory import return_large_allocations

log = logging.getLogger(__name__)


class Fed(Protocol):
    """What the feeder serves: a streaming source, or an endless scene holding several."""

    closed: bool
    wake: Callable[[], None]

    @property
    def name(self) -> str: ...

    def refill(self) -> None: ...

    def release(self) -> None: ...


#: The feeder looks at every source at least this often.
POLL_S = 0.05


class Feeder:
    """Refills registered sources (:class:`Fed`) on one daemon thread."""

    def __init__(self) -> None:
        self._sources: list[Fed] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, source: Fed) -> None:
        """Keep ``source`` fed until it is closed."""
        source.wake = self._wake.set
        return_large_allocations()
        with self._lock:
            self._sources.append(source)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="voice-feeder", daemon=True)
                self._thread.start()
        self._wake.set()

    @property
    def sources(self) -> int:
        with self._lock:
            return len(self._sources)

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_S)
            self._wake.clear()
            with self._lock:
                sources = list(self._sources)
            for source in sources:
                try:
                    self._serve(source)
                except Exception:  # never let one round end the thread
                    log.exception("voice feeder round failed")

    def _serve(self, source: Fed) -> None:
        try:
            if not source.closed:
                source.refill()
                return
        except Exception:
            log.exception("voice source %s failed; it plays silence from now on", source.name)
            source.closed = True
        with self._lock:
            if source in self._sources:
                self._sources.remove(source)
        try:
            source.release()
        except Exception:
            log.exception("closing voice source %s failed", source.name)


#: The process's feeder (one thread for all players).
FEEDER = Feeder()
