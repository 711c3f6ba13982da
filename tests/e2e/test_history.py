"""/history end to end: pages, filters, export, replay, reroll, tweak, delete, privacy."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import World, running_world
from tests.e2e.helpers import (
    ambient,
    asked_by,
    details,
    field,
    result_for_job,
    result_of,
)
from tests.e2e.screens import (
    answer,
    component,
    custom_ids,
    description_lines,
    footer,
    make,
    open_screen,
    option_values,
    pick,
    press,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def busy_world(tmp_path: Path) -> AsyncIterator[World]:
    """A world where one user may have all seven jobs of the pagination test queued at once."""
    async with running_world(tmp_path, {"queue": {"max_pending_per_user": 10}}) as world:
        yield world


def _newest_first(world: World, user_id: int) -> list[int]:
    rows = world.bot.db_rows(
        "SELECT id FROM generations WHERE user_id = ? ORDER BY created_at DESC, id DESC", (user_id,)
    )
    return [row["id"] for row in rows]


async def test_history_pages_through_25_entries_filters_and_exports_them_all(busy_world: World) -> None:
    world = busy_world
    # 25 real generations from 7 cheap jobs (six with four takes, one single).
    prompts = [(f"ocean waves {n}", 4) for n in range(3)] + [(f"rain on the roof {n}", 4) for n in range(3)]
    handles = [
        await ambient(world, world.alice, prompt=prompt, duration=2.5, variations=takes)
        for prompt, takes in [*prompts, ("crackling fireplace", 1)]
    ]
    for handle in handles:
        await result_of(world, handle)
    expected = _newest_first(world, world.alice.id)
    assert len(expected) == 25

    first = await open_screen(world, "history", "list", world.alice)
    assert len(description_lines(first)) == 10 and description_lines(first)[0].startswith("**1.** crackling")
    assert footer(first).startswith("Page 1/3 · 25 soundscapes")
    assert option_values(first) == expected[:10]
    assert component(first, "ambientgen:hist:prev:").get("disabled") is True
    # ▶ edits the same private message in place, twice, then ◀ goes back.
    seen = option_values(first)
    message = first
    for page in (2, 3):
        click = await press(
            world, message, component(message, "ambientgen:hist:next:")["custom_id"], world.alice
        )
        assert (await click.response()).type == 6  # deferred update of the message itself
        message = await world.standin.wait_until(
            lambda page=page: (
                footer(m := world.standin.message(int(first["id"]))).startswith(f"Page {page}/3") and m
            )
        )
        seen += option_values(message)
    assert seen == expected
    assert description_lines(message)[-1].startswith("**25.** ocean waves 0")
    assert component(message, "ambientgen:hist:next:").get("disabled") is True
    back = await press(world, message, component(message, "ambientgen:hist:prev:")["custom_id"], world.alice)
    await back.response()
    await world.standin.wait_until(
        lambda: footer(world.standin.message(int(first["id"]))).startswith("Page 2/3")
    )

    # Filters: by text, by preset, both; lines say what was made where.
    ocean = await open_screen(world, "history", "list", world.alice, search="OCEAN")
    assert footer(ocean).startswith("Page 1/2 · 12 soundscapes")
    assert all("ocean waves" in line and "🌊" in line for line in description_lines(ocean))
    assert (
        "Ambient Test Server" in description_lines(ocean)[0]
        and f"<#{world.channel_id}>" in description_lines(ocean)[0]
    )
    rain = await open_screen(world, "history", "list", world.alice, preset="rain", search="roof 1")
    assert footer(rain).startswith("Page 1/1 · 4 soundscapes") and "prev" not in " ".join(custom_ids(rain))
    nothing = await open_screen(world, "history", "list", world.alice, search="volcano")
    assert "Nothing in your history" in nothing["embeds"][0]["description"] and not custom_ids(nothing)

    # Export: every entry, in both formats, only to the caller.
    exported = await open_screen(world, "history", "export", world.alice, format="json")
    assert exported["content"].startswith("📦 Your history: 25 soundscapes")
    (attachment,) = exported["attachments"]
    records = json.loads(world.standin.attachment_bytes(attachment))
    assert [r["id"] for r in records] == expected
    rows = world.bot.db_rows("SELECT id, seed, user_text, preset FROM generations")
    assert {(r["id"], r["seed"], r["user_text"], r["preset"]) for r in rows} == {
        (r["id"], r["seed"], r["prompt"], r["preset"]) for r in records
    }
    assert all(r["server_id"] == str(world.guild.id) and r["file_available"] for r in records)
    as_csv = await open_screen(world, "history", "export", world.alice, format="csv")
    text = world.standin.attachment_bytes(as_csv["attachments"][0]).decode("utf-8-sig")
    assert [int(row["id"]) for row in csv.DictReader(io.StringIO(text))] == expected


async def test_replay_reroll_and_tweak_from_a_history_card(world: World) -> None:
    original = await make(world, world.alice, "rain with crickets", seed=42, guidance=6.0)
    original_bytes = world.standin.attachment_bytes(original["attachments"][0])
    (row,) = world.bot.db_rows("SELECT id, job_id FROM generations")
    page = await open_screen(world, "history", "list", world.alice)
    card = await pick(world, page, row["id"], world.alice)
    assert card["embeds"][0]["title"] == "rain with crickets" and field(card, "Seed") == "42"
    assert custom_ids(card) == [
        *(
            f"ambientgen:hist:{action}:{row['id']}"
            for action in ("replay", "reroll", "tweak", "share", "delete")
        ),
        f"ambientgen:voice:play:gen:{row['id']}",
    ]

    # Replay: the very same bytes, privately, with no new job.
    replay = await answer(await press(world, card, f"ambientgen:hist:replay:{row['id']}", world.alice))
    (attachment,) = replay["attachments"]
    assert world.standin.attachment_bytes(attachment) == original_bytes
    assert attachment["filename"] == original["attachments"][0]["filename"]
    assert len(world.bot.db_rows("SELECT * FROM jobs")) == 1

    # Tweak: the form comes pre-filled; a bad value is refused privately, a good one is queued.
    async def open_tweak() -> dict[str, str]:
        click = await press(world, card, f"ambientgen:hist:tweak:{row['id']}", world.alice)
        assert (await click.response()).type == 9 and click.modal is not None
        return {
            label["component"]["custom_id"]: label["component"].get("value", "")
            for label in click.modal["components"]
        }

    assert await open_tweak() == {
        "prompt": "rain with crickets",
        "duration": "2.5",
        "guidance": "6",
        "seed": "42",
    }
    form = f"ambientgen:hist:tweaked:{row['id']}"
    bad = await world.standin.submit_modal(
        form, {"prompt": "rain", "duration": "99", "guidance": "6", "seed": ""}, user=world.alice
    )
    refusal = await answer(bad)
    assert "Duration must be between 2.5 and 30 seconds" in refusal["content"]
    await open_tweak()
    submitted = await world.standin.submit_modal(
        form,
        {"prompt": "rain with distant thunder", "duration": "3", "guidance": "4.5", "seed": "7"},
        user=world.alice,
    )
    note = await answer(submitted)
    assert note["content"].startswith("✏️ Queued your tweak (job #")
    tweak_job = int(note["content"].split("#")[1].split(")")[0])
    tweaked = await result_for_job(world, tweak_job)
    assert tweaked["embeds"][0]["title"] == "rain with distant thunder"
    info = await details(world, tweaked)
    assert (field(info, "Duration"), field(info, "Guidance"), field(info, "Seed")) == ("3 s", "4.5", "7")
    assert asked_by(tweaked) == f"<@{world.alice.id}>"
    (job,) = world.bot.db_rows("SELECT kind, user_id, parent_job_id FROM jobs WHERE id = ?", (tweak_job,))
    assert (job["kind"], job["user_id"], job["parent_job_id"]) == ("tweak", world.alice.id, row["job_id"])

    # Reroll: same request, new seed, credited to the clicker.
    note = await answer(await press(world, card, f"ambientgen:hist:reroll:{row['id']}", world.alice))
    assert note["content"].startswith("🔁 Queued a new take (job #")
    reroll = await result_for_job(world, int(note["content"].split("#")[1].split(")")[0]))
    assert (
        reroll["embeds"][0]["title"] == "rain with crickets"
        and field(await details(world, reroll), "Seed") != "42"
    )
    assert len(_newest_first(world, world.alice.id)) == 3


async def test_history_is_private_and_deletion_removes_the_file(world: World) -> None:
    await make(world, world.alice, "wind over the moor")
    (row,) = world.bot.db_rows("SELECT id, mp3_path FROM generations")
    stored = world.bot.data_dir / row["mp3_path"]
    assert stored.is_file()

    # Bob sees nothing of Alice's, and cannot export it.
    empty = await open_screen(world, "history", "list", world.bob)
    assert "You have no soundscapes yet" in empty["embeds"][0]["description"] and not custom_ids(empty)
    refused = await open_screen(world, "history", "export", world.bob)
    assert (
        refused["content"] == "Your history is empty: nothing to export yet." and not refused["attachments"]
    )

    # Even pressing Alice's own controls (a crafted click) gets Bob nothing but a refusal.
    card = await pick(world, await open_screen(world, "history", "list", world.alice), row["id"], world.alice)
    for action in ("replay", "delete", "reroll", "share"):
        reply = await answer(
            await press(world, card, f"ambientgen:hist:{action}:{row['id']}", world.bob, forged=True)
        )
        assert reply["content"] == "That soundscape isn't in your history (it may have been deleted).", action
        assert not reply.get("attachments")
    tweak = await press(world, card, f"ambientgen:hist:tweak:{row['id']}", world.bob, forged=True)
    assert (await tweak.response()).type == 4 and tweak.modal is None
    assert len(world.bot.db_rows("SELECT * FROM generations")) == 1 and stored.is_file()
    assert len(world.bot.db_rows("SELECT * FROM jobs")) == 1

    # Alice deletes it (after confirming): the row and its file go.
    confirm = await answer(await press(world, card, f"ambientgen:hist:delete:{row['id']}", world.alice))
    assert "can't be undone" in confirm["content"]
    done = await answer(await press(world, confirm, f"ambientgen:hist:erase:{row['id']}", world.alice))
    assert done["content"] == "🗑️ Deleted **wind over the moor** from your history."
    assert world.bot.db_rows("SELECT * FROM generations") == [] and not stored.exists()
    again = await answer(await press(world, card, f"ambientgen:hist:replay:{row['id']}", world.alice))
    assert "isn't in your history" in again["content"]


async def test_controls_survive_a_restart_and_pruned_files_say_expired(world: World) -> None:
    await make(world, world.alice, "old rain")
    await make(world, world.alice, "fresh wind")
    rows = {r["user_text"]: r for r in world.bot.db_rows("SELECT id, user_text, mp3_path FROM generations")}
    old, fresh = rows["old rain"], rows["fresh wind"]
    card = await pick(world, await open_screen(world, "history", "list", world.alice), old["id"], world.alice)

    # Stopped, "old rain" made three days ago (the only way to age it), restarted with retention.
    assert await world.bot.stop() == 0
    three_days = 3 * 86_400
    with contextlib.closing(sqlite3.connect(world.bot.data_dir / "ambientgen.sqlite3")) as conn, conn:
        conn.execute(
            "UPDATE generations SET created_at = created_at - ? WHERE id = ?", (three_days, old["id"])
        )
    world.bot.overrides["storage"] = {"retention_days": 1}
    await world.bot.start()

    # The card from before the restart still works, and says the file has expired.
    expired = await answer(await press(world, card, f"ambientgen:hist:replay:{old['id']}", world.alice))
    assert (
        expired["content"].startswith("The file of this soundscape has expired")
        and not expired["attachments"]
    )
    assert not (world.bot.data_dir / old["mp3_path"]).exists()
    assert (world.bot.data_dir / fresh["mp3_path"]).is_file()
    assert "retention: pruned 1 file(s)" in world.bot.log()
    lines = description_lines(await open_screen(world, "history", "list", world.alice))
    assert [("file expired" in line) for line in lines] == [False, True]
