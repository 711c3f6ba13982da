"""Stems of layered scenes, kept so a level change or a layer reroll re-renders nothing else.

Each stem is stored once, by content: ``stems/<sha256>.npy`` under the data folder, and the
``stems`` table says which job's scene uses which stem at which layer. A level change therefore
stores nothing new, a layer reroll one new stem, and a stem file is deleted once no job uses it
(when its history entries are deleted, or by retention). The layers' texts, levels and requests
come from the job's own recipe. Scenes stored by earlier versions as ``stems/<job id>.npz`` are
still read.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from bot.storage.database import Database, Transaction
from bot.storage.job_rows import Job
from generation.recipes.mixing import Mix


class StemFiles:
    """The scenes' stems: content-addressed files plus their rows (see the module docstring)."""

    def __init__(self, db: Database, root: Path | str, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.root = Path(root) / "stems"
        self._clock = clock

    def file(self, sha256: str) -> Path:
        return self.root / f"{sha256}.npy"

    def legacy_path(self, job_id: int) -> Path:
        return self.root / f"{int(job_id)}.npz"

    async def save(self, job_id: int, mix: Mix) -> list[str]:
        """Store ``job_id``'s stems (files first, then rows); returns their digests in layer order."""
        digests = await asyncio.to_thread(self._write_files, mix)
        now = self._clock()
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM stems WHERE job_id = ?", (job_id,))
            for layer, digest in enumerate(digests):
                await tx.execute(
                    "INSERT INTO stems (job_id, layer, sha256, sample_rate, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (job_id, layer, digest, mix.sample_rate, now),
                )
        return digests

    def _write_files(self, mix: Mix) -> list[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        digests = []
        for stem in mix.stems:
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(stem, dtype=np.float32), allow_pickle=False)
            data = buffer.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            target = self.file(digest)
            if not (target.is_file() and target.stat().st_size == len(data)):
                # Written beside the target and renamed: a crash never leaves half a stem.
                fd, tmp = tempfile.mkstemp(prefix=f".{digest}.", suffix=".tmp", dir=self.root)
                try:
                    with os.fdopen(fd, "wb") as out:
                        out.write(data)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            digests.append(digest)
        return digests

    async def exists(self, job_id: int) -> bool:
        row = await self._db.fetchone("SELECT 1 FROM stems WHERE job_id = ? LIMIT 1", (job_id,))
        return row is not None or await asyncio.to_thread(self.legacy_path(job_id).is_file)

    async def load(self, job: Job) -> Mix | None:
        """The stored scene of ``job`` (its stems at its recipe's levels); None when not stored."""
        rows = await self._db.fetchall(
            "SELECT sha256, sample_rate FROM stems WHERE job_id = ? ORDER BY layer", (job.id,)
        )
        if not rows:
            return await asyncio.to_thread(self._load_legacy, job.id)
        recipe = job.recipe
        if len(rows) != len(recipe.layers):
            return None
        try:
            stems = await asyncio.to_thread(lambda: [self._read(row["sha256"]) for row in rows])
        except FileNotFoundError:
            return None
        return Mix(recipe.layers, recipe.layer_requests, tuple(stems), int(rows[0]["sample_rate"]))

    def _read(self, digest: str) -> np.ndarray:
        stem = np.load(self.file(digest), allow_pickle=False).astype(np.float32)
        stem.flags.writeable = False
        return stem

    def _load_legacy(self, job_id: int) -> Mix | None:
        try:
            with self.legacy_path(job_id).open("rb") as file:
                return Mix.load(file)
        except FileNotFoundError:
            return None

    async def forget(self, job_ids: Iterable[int]) -> int:
        """Drop the stems of these jobs; returns how many stem files were deleted (unused now)."""
        ids = list(job_ids)
        if not ids:
            return 0
        async with self._db.transaction() as tx:
            marks = ",".join("?" * len(ids))
            rows = await tx.fetchall(f"SELECT DISTINCT sha256 FROM stems WHERE job_id IN ({marks})", ids)
            await tx.execute(f"DELETE FROM stems WHERE job_id IN ({marks})", ids)
            unused = [row["sha256"] for row in rows if not await _in_use(tx, row["sha256"])]
        await asyncio.to_thread(self._delete, unused, ids)
        return len(unused)

    async def forget_older_than(self, cutoff: float) -> int:
        """Retention: drop every scene stored before ``cutoff`` (epoch seconds)."""
        rows = await self._db.fetchall("SELECT DISTINCT job_id FROM stems WHERE created_at < ?", (cutoff,))
        return await self.forget(row["job_id"] for row in rows)

    def _delete(self, digests: list[str], job_ids: list[int]) -> None:
        for digest in digests:
            self.file(digest).unlink(missing_ok=True)
        for job_id in job_ids:
            self.legacy_path(job_id).unlink(missing_ok=True)


async def _in_use(tx: Transaction, digest: str) -> bool:
    return await tx.fetchone("SELECT 1 FROM stems WHERE sha256 = ? LIMIT 1", (digest,)) is not None
