"""Stems of layered scenes, kept so a level change or a layer reroll re-renders nothing else."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from generation.recipes.mixing import Mix


class StemFiles:
    """``stems/<job id>.npz`` under the data folder: the normalised stems, gains and requests."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root) / "stems"

    def path(self, job_id: int) -> Path:
        return self.root / f"{int(job_id)}.npz"

    async def save(self, job_id: int, mix: Mix) -> None:
        await asyncio.to_thread(self._save, job_id, mix)

    def _save(self, job_id: int, mix: Mix) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed: a crash never leaves half an archive.
        fd, tmp = tempfile.mkstemp(prefix=f".{job_id}.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as file:
                mix.save(file)
            os.replace(tmp, self.path(job_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def exists(self, job_id: int) -> bool:
        return await asyncio.to_thread(self.path(job_id).is_file)

    async def load(self, job_id: int) -> Mix | None:
        """The stored mix of ``job_id``; None when it was never stored or has been deleted."""
        return await asyncio.to_thread(self._load, job_id)

    def _load(self, job_id: int) -> Mix | None:
        try:
            with self.path(job_id).open("rb") as file:
                return Mix.load(file)
        except FileNotFoundError:
            return None
