"""History export: every entry, both formats, snowflakes kept exact."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.library.export import FIELDS, export_history
from bot.storage.history import HistoryEntry
from tests.bot.storage.factories import Stores


async def _entries(stores: Stores) -> list[HistoryEntry]:
    await stores.one(1, text='rain, "heavy"; ünïcode ☔', guild_id=None)
    await stores.one(1, text="wind", guild_id=2**60 + 5, message_id=2**60 + 7)
    return await stores.history.export(1)


async def test_json_has_every_entry_and_exact_ids(stores: Stores) -> None:
    entries = await _entries(stores)
    records = json.loads(export_history(entries, "json"))
    assert [r["id"] for r in records] == [e.id for e in entries]
    assert set(records[0]) == set(FIELDS)
    assert records[0]["server_id"] == str(2**60 + 5) and records[0]["message_id"] == str(2**60 + 7)
    assert records[1]["server_id"] is None and records[1]["prompt"] == 'rain, "heavy"; ünïcode ☔'
    assert records[1]["created_at"].endswith("+00:00") and records[1]["file_available"] is True


async def test_csv_round_trips_with_a_header(stores: Stores) -> None:
    entries = await _entries(stores)
    data = export_history(entries, "csv")
    assert data.startswith("\ufeff".encode())  # spreadsheets then read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [e.id for e in entries]
    assert rows[1]["prompt"] == 'rain, "heavy"; ünïcode ☔' and rows[1]["server_id"] == ""
    with pytest.raises(ValueError, match="unknown export format"):
        export_history(entries, "xml")
