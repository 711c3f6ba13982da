"""The data folder (writable) and the database in it: intact, and of a schema this code knows."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from bot.config import Config
from bot.doctor.report import Result, failed, passed
from bot.runner import DATABASE_NAME
from bot.storage.migrations import MIGRATIONS

_NONE_YET = passed("database", "none yet: created at the first start")


def data_folder(config: Config) -> list[Result]:
    folder = config.storage.data_dir
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            return [
                failed(
                    "data folder",
                    f"{folder} does not exist and {parent} is not writable",
                    f"create it for the bot's user (mkdir -p {folder}) or set [storage] data_dir",
                )
            ]
        return [passed("data folder", f"{folder} (created at the first start)"), _NONE_YET]
    if not folder.is_dir():
        return [failed("data folder", f"{folder} is not a folder", "set [storage] data_dir to a folder")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            failed(
                "data folder",
                f"{folder} is not writable",
                "chown it to the bot's user, or set [storage] data_dir",
            )
        ]
    results = [passed("data folder", f"{folder} (writable)")]
    path = folder / DATABASE_NAME
    results.append(
        _database(path) if path.exists() else passed("database", "none yet: created at the first start")
    )
    return results


def _database(path: Path) -> Result:
    latest = len(MIGRATIONS)
    try:
        # Read-only: the doctor never changes what it examines (no migration, no journal).
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return failed(
            "database", f"{path} cannot be read ({exc})", "restore it from a backup, or move it away"
        )
    if problems != ["ok"]:
        return failed(
            "database",
            f"{path} is damaged: {'; '.join(problems)[:200]}",
            "stop the bot, restore a backup (or sqlite3 .recover into a new file)",
        )
    if version > latest:
        return failed(
            "database",
            f"schema version {version}, newer than this code's {latest}",
            "run the AmbientGen version that wrote it (upgrade this install)",
        )
    if version < latest:
        return passed(
            "database",
            f"intact; schema version {version}, migrated to {latest} at the next start (back it up first)",
        )
    return passed("database", f"intact; schema version {version} (current)")
