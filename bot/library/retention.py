"""``[storage] retention_days``: delete the oldest MP3s no gallery uses, at start and daily."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage import Mp3Files, RetentionStore, StemFiles

log = logging.getLogger(__name__)

DAY_S = 86_400.0
#: Files claimed per transaction, so a large backlog never holds the database for long.
BATCH = 200


@dataclass(frozen=True, slots=True)
class PruneReport:
    files: int
    bytes: int
    generations: int
    stems: int = 0
    """Stem files of layered scenes deleted (scenes older than the retention)."""


class Pruner:
    """Removes expired files; their history rows stay and say "file expired"."""

    def __init__(
        self,
        store: RetentionStore,
        files: Mp3Files,
        retention_days: int,
        clock: Callable[[], float] = time.time,
        *,
        stems: StemFiles | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.stems = stems
        self.retention_days = retention_days
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    async def prune(self) -> PruneReport:
        """Delete every file whose newest use is older than the retention, oldest first."""
        if not self.enabled:
            return PruneReport(0, 0, 0)
        cutoff = self._clock() - self.retention_days * DAY_S
        files = size = generations = 0
        while True:
            batch = await self.store.claim_expired(cutoff, BATCH)
            for expired in batch:
                # The rows are already marked: a file that vanished earlier is simply counted.
                await self.files.delete(expired.mp3_path)
                log.debug("retention: pruned %s (last used %.0f)", expired.mp3_path, expired.newest_use)
                files += 1
                size += expired.mp3_bytes
                generations += expired.generations
            if len(batch) < BATCH:
                break
        # A scene older than the retention can no longer be remixed: its stems go too.
        stems = await self.stems.forget_older_than(cutoff) if self.stems is not None else 0
        if stems:
            log.info("retention: pruned %d stem file(s) of layered scenes", stems)
        if files:
            log.info(
                "retention: pruned %d file(s), %.1f MB, of %d generation(s) older than %d day(s)",
                files,
                size / 1e6,
                generations,
                self.retention_days,
            )
        else:
            log.info("retention: nothing older than %d day(s) to prune", self.retention_days)
        return PruneReport(files, size, generations, stems)
