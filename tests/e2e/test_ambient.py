"""The /ambient journey end to end: real bot process, tiny model, Discord stand-in."""

from __future__ import annotations

import itertools
import re
import signal
from pathlib import Path

import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import (
    ambient,
    asked_by,
    decode,
    details,
    field,
    is_result,
    job_id_of,
    mp3s,
    picture,
    rerollable,
    result_of,
    status_gone,
)
from tests.e2e.screens import answer

pytestmark = pytest.mark.e2e

QUEUED = re.compile(r"^Queued — position (\d+) of (\d+), (about .+|a few seconds)$")
GENERATING = re.compile(r"^Generating — (\d+) % \(step (\d+)/(\d+)\)$")


async def test_ambient_defers_shows_progress_and_posts_a_decodable_mp3(world: World) -> None:
    world.bot.hold("rain with crickets")  # held after each step until the progress is seen
    handle = await ambient(world, world.alice, prompt="rain with crickets", duration=10.0, guidance=6.5)
    response = await handle.response()
    assert response.type == 5  # deferred channel message with source: "thinking…"
    assert response.elapsed < 3.0
    assert not response.ephemeral

    held = await handle.wait_original(lambda m: bool(GENERATING.match(m["content"])), timeout=60)
    assert GENERATING.match(held["content"]).group(2) == "1"  # held after its first step
    world.bot.release()
    followup = await result_of(world, handle)
    await status_gone(world, handle)  # one message per job: the status goes, the result stays
    contents = [edit.payload.get("content") for edit in handle.edits if "content" in edit.payload]
    assert QUEUED.match(contents[0]), contents
    assert any(GENERATING.match(c or "") for c in contents), contents
    # Status edits are throttled to one per 1.5 s per message (the last one, the result, may come
    # sooner), and the result is the status message itself: one message per job.
    times = [edit.at for edit in handle.edits]
    assert all(later - earlier >= 1.4 for earlier, later in itertools.pairwise(times[:-1])), times
    assert followup["id"] == handle.original["id"] and is_result(handle.edits[-1].message)

    # The result: one MP3 named from the prompt, decoding to the asked duration.
    (attachment,) = mp3s(followup)
    assert picture(world, followup).size == (480, 160)  # the texture, at a glance
    info = await details(world, followup)  # the compact card's **Details**, answered privately
    seed = int(field(info, "Seed"))
    assert attachment["filename"] == f"rain-with-crickets-{seed}.mp3"
    frames, rate = decode(world, attachment)
    assert rate == 16_000
    assert abs(frames / rate - 10.0) < 0.01
    # The card is compact: the words, one line of essentials and who asked, the picture; no fields.
    embed = followup["embeds"][0]
    assert embed["title"] == "rain with crickets" and not embed.get("fields")
    assert embed["description"] == f"🌧️ Rain · 10 s · tiny · <@{world.alice.id}>"
    assert asked_by(followup) == f"<@{world.alice.id}>" and not followup["mentions"]  # shown, not pinged
    assert not followup.get("content")  # the command's header already says who asked
    # **Details** tells the whole request, privately.
    assert "rain with crickets" in info["embeds"][0]["description"]
    assert "high quality recording" in info["embeds"][0]["description"]
    assert field(info, "Preset") == "🌧️ Rain"
    assert field(info, "Duration") == "10 s"
    assert field(info, "Steps") == "50"
    assert field(info, "Guidance") == "6.5"
    assert field(info, "Model") == "tiny"
    assert field(info, "Asked by") == f"<@{world.alice.id}>"
    assert re.match(r"^\d+\.\d s$", field(info, "Generated in"))
    # One message per job: the bot's only message in the channel is the result.
    mine = [m for m in world.standin.messages_in(world.channel_id, include_ephemeral=False)]
    assert [m["id"] for m in mine if m["author"]["id"] == str(world.standin.bot.id)] == [followup["id"]]
    # Rerolls are offered both ways: the bot's own 🔁 and a persistent button.
    message = await rerollable(world, followup)
    assert [r["emoji"]["name"] for r in message["reactions"] if r["me"]] == ["🔁"]
    button = message["components"][0]["components"][0]
    assert button["custom_id"] == f"ambientgen:reroll:{job_id_of(followup)}"

    # Storage: one row per generation with the right fields, the MP3 in the data folder.
    (row,) = world.bot.db_rows("SELECT * FROM generations")
    assert (row["user_id"], row["guild_id"], row["channel_id"]) == (
        world.alice.id,
        world.guild.id,
        world.channel_id,
    )
    assert row["message_id"] == int(followup["id"])
    assert row["seed"] == seed and row["duration_s"] == 10.0 and row["steps"] == 50 and row["guidance"] == 6.5
    assert row["user_text"] == "rain with crickets" and row["preset"] == "rain" and row["model"] == "tiny"
    stored = world.bot.data_dir / row["mp3_path"]
    assert stored.read_bytes() == world.standin.attachment_bytes(attachment)
    assert Path(row["mp3_path"]).stem == row["mp3_sha256"]
    (job,) = world.bot.db_rows("SELECT * FROM jobs")
    assert job["status"] == "done" and job["result_message_id"] == int(followup["id"])

    # The event loop stayed responsive while the model ran (measured inside the bot process): no
    # code ran on it for long. Its wake-ups may still be late while the machine is loaded (the
    # suite runs in parallel processes), so the whole delay only has a generous bound.
    assert await world.bot.stop(signal.SIGTERM) == 0
    shutdown = r"worst event-loop stall ([\d.]+) ms \(the loop's own work in one tick at most ([\d.]+) ms\)"
    stall = re.search(shutdown, world.bot.log())
    assert stall, world.bot.log()
    late_ms, busy_ms = float(stall.group(1)), float(stall.group(2))
    assert busy_ms < 100.0 and late_ms < 1000.0, (late_ms, busy_ms)


async def test_three_variations_arrive_in_one_message(world: World) -> None:
    handle = await ambient(
        world, world.bob, prompt="ocean waves at night", duration=3.0, variations=3, seed=100
    )
    followup = await rerollable(world, await result_of(world, handle))  # recorded as done
    attachments = mp3s(followup)
    assert picture(world, followup).size[0] == 480  # one picture, the three takes stacked
    assert [a["filename"] for a in attachments] == [
        "ocean-waves-at-night-100.mp3",
        "ocean-waves-at-night-101.mp3",
        "ocean-waves-at-night-102.mp3",
    ]
    payloads = [world.standin.attachment_bytes(a) for a in attachments]
    assert len(set(payloads)) == 3  # three different takes
    for attachment in attachments:
        frames, rate = decode(world, attachment)
        assert abs(frames / rate - 3.0) < 0.01
    assert field(await details(world, followup), "Seeds") == "100, 101, 102"
    rows = world.bot.db_rows(
        "SELECT variation_index, seed, message_id FROM generations ORDER BY variation_index"
    )
    assert [(r["variation_index"], r["seed"]) for r in rows] == [(0, 100), (1, 101), (2, 102)]
    assert {r["message_id"] for r in rows} == {int(followup["id"])}


INVALID_ORDERS: list[tuple[dict[str, object], str]] = [
    ({"prompt": "rain", "duration": 99.0}, "Duration must be between 2.5 and 30 seconds; you asked for 99."),
    ({"prompt": "   "}, "Please describe the soundscape you want"),
    ({"prompt": "r" * 400}, "300"),
    ({"prompt": "rain", "guidance": 40.0}, "Guidance must be between 1 and 15"),
    ({"prompt": "rain", "preset": "lava"}, "Unknown preset 'lava'"),
]


async def test_invalid_input_is_refused_privately_and_nothing_is_queued(world: World) -> None:
    # One bot for every bad order: each answer is checked on its own, and nothing may be queued
    # by any of them.
    for options, expected in INVALID_ORDERS:
        handle = await ambient(world, world.alice, **options)
        response = await handle.response()
        assert response.type == 4 and response.ephemeral, options
        assert expected in response.data["content"], (options, response.data["content"])
    assert world.bot.db_rows("SELECT * FROM jobs") == []
    assert [
        m for m in world.standin.messages_in(world.channel_id, include_ephemeral=False) if is_result(m)
    ] == []


async def test_presets_and_autocomplete(world: World) -> None:
    handle = await world.standin.invoke_command(
        "presets", user=world.carol, guild_id=world.guild.id, channel_id=world.channel_id
    )
    shown = await answer(handle)  # private, whether at once or after a deferral
    names = [f["name"] for f in shown["embeds"][0]["fields"]]
    assert any("`rain`" in n for n in names) and any("`fireplace`" in n for n in names)
    complete = await world.standin.invoke_autocomplete(
        "ambient", {"prompt": "x", "preset": "fir"}, focused="preset", user=world.carol,
        guild_id=world.guild.id, channel_id=world.channel_id,
    )  # fmt: skip
    await complete.response()
    assert [c["value"] for c in complete.choices or []][:1] == ["fireplace"]
