"""The studio's files (MP3s, spectrogram pictures) in one temporary folder.

Gradio serves what a handler returns from disk, so every take is written here; the folder is
removed when the studio exits, and files older than ``max_age_s`` are pruned as new ones come, so
a studio left open for days does not fill the disk.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Files older than this are pruned (a session's takes stay playable for a working day).
DEFAULT_MAX_AGE_S = 8 * 3600.0


class StudioFiles:
    """A temporary folder that cleans itself (see the module docstring)."""

    def __init__(self, root: Path | None = None, *, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ambientgen-studio-", dir=root))
        self.max_age_s = max_age_s
        self._count = 0

    def write(self, name: str, data: bytes) -> Path:
        """Store ``data`` as a new file ending in ``name`` (its own subfolder keeps the name clean
        for downloads); returns its path."""
        self.prune()
        self._count += 1
        folder = self.root / f"{time.time_ns():x}-{self._count}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(data)
        return path

    def prune(self, now: float | None = None) -> int:
        """Remove files older than ``max_age_s``; returns how many folders went."""
        cutoff = (time.time() if now is None else now) - self.max_age_s
        removed = 0
        for folder in self.root.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("studio: pruned %d old file(s)", removed)
        return removed

    def cleanup(self) -> None:
        """Remove the whole folder (at exit)."""
        shutil.rmtree(self.root, ignore_errors=True)
