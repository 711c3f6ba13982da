"""Content-addressed MP3 files under the data folder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)


class Mp3Files:
    """MP3s stored as ``mp3/<sha256[:2]>/<sha256>.mp3`` relative to ``root`` (the data folder).

    Identical bytes land in one file, so a file may back several generations and gallery
    entries: check :func:`bot.storage.retention.mp3_in_use` before deleting. All methods
    do their file I/O in a worker thread so the event loop never blocks on the disk.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @staticmethod
    def relative_path(sha256: str) -> str:
        """Where content with this digest is stored, relative to the data folder (POSIX form)."""
        return f"mp3/{sha256[:2]}/{sha256}.mp3"

    def path(self, rel: str) -> Path:
        """Absolute location of a stored relative path; refuses paths leaving the data folder."""
        pure = PurePosixPath(rel)
        if not rel or pure.is_absolute() or ".." in pure.parts or "\\" in rel or ":" in rel:
            raise ValueError(f"not a relative path inside the data folder: {rel!r}")
        return self.root.joinpath(*pure.parts)

    async def save(self, data: bytes) -> tuple[str, str]:
        """Store ``data`` atomically; return ``(relative path, sha256 hex)``.

        Writing the same bytes again is a no-op returning the same path.
        """
        if not data:
            raise ValueError("refusing to store an empty MP3")
        return await asyncio.to_thread(self._save, bytes(data))

    def _save(self, data: bytes) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        rel = self.relative_path(digest)
        target = self.path(rel)
        # A file of the right size is the right file: it was only ever created by os.replace
        # of a complete temp file named after its own hash.
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_size == len(data):
                return rel, digest
        target.parent.mkdir(parents=True, exist_ok=True)
        # The temp file lives next to the target so os.replace stays on one file system (atomic).
        fd, tmp_name = tempfile.mkstemp(prefix=f".{digest}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_name, 0o644)  # mkstemp creates 0600
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(target.parent)
        log.debug("stored %s (%d bytes)", rel, len(data))
        return rel, digest

    async def exists(self, rel: str) -> bool:
        return await asyncio.to_thread(self.path(rel).is_file)

    async def read(self, rel: str) -> bytes:
        return await asyncio.to_thread(self.path(rel).read_bytes)

    async def delete(self, rel: str) -> bool:
        """Remove a stored file; False if it was not there."""
        path = self.path(rel)

        def unlink() -> bool:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

        return await asyncio.to_thread(unlink)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on every platform, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
