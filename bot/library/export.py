"""``/history export``: a user's whole history as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.storage import HIDDEN_MODEL, HistoryEntry
from generation.settings import model_display_name

EXPORT_FORMATS: tuple[str, ...] = ("json", "csv")

#: Column order of the CSV; the JSON objects use the same keys.
FIELDS: tuple[str, ...] = (
    "id",
    "created_at",
    "prompt",
    "expanded_prompt",
    "negative_prompt",
    "preset",
    "raw",
    "duration_s",
    "steps",
    "guidance",
    "seed",
    "scheduler",
    "model",
    "server_id",
    "channel_id",
    "message_id",
    "mp3_sha256",
    "file_available",
    "in_gallery",
)


def _record(entry: HistoryEntry) -> dict[str, Any]:
    g = entry.generation
    # A blind comparison's take before the reveal: its prompt craft (wording, negative prompt,
    # steps, guidance, sampler) differs by model and would tell which is which, so none is given.
    hidden = g.model == HIDDEN_MODEL
    return {
        "id": g.id,
        "created_at": datetime.fromtimestamp(g.created_at, UTC).isoformat(timespec="seconds"),
        "prompt": g.user_text,
        "expanded_prompt": None if hidden else g.prompt,
        "negative_prompt": None if hidden else g.negative_prompt,
        "preset": g.preset,
        "raw": g.request.raw,
        "duration_s": g.duration_s,
        "steps": None if hidden else g.steps,
        "guidance": None if hidden else g.guidance,
        "seed": g.seed,
        "scheduler": None if hidden else g.scheduler,
        "model": model_display_name(g.model),  # rows from before kept a folder's whole path
        # Snowflakes as strings: JavaScript and spreadsheets round 64-bit integers.
        "server_id": None if g.guild_id is None else str(g.guild_id),
        "channel_id": str(g.channel_id),
        "message_id": None if g.message_id is None else str(g.message_id),
        "mp3_sha256": g.mp3_sha256,
        "file_available": not entry.file_expired,
        "in_gallery": entry.in_gallery,
    }


def export_history(entries: Sequence[HistoryEntry], fmt: str) -> bytes:
    """The entries (newest first) as UTF-8 ``json`` or ``csv``."""
    records = [_record(entry) for entry in entries]
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=2).encode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        # A byte-order mark lets spreadsheet apps detect UTF-8 (prompts may hold any script).
        return buffer.getvalue().encode("utf-8-sig")
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
