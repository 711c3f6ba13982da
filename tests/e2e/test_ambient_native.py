"""Ambient-native requests end to end: loops, long renders, layered scenes, best-of-N, batching."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import soundfile as sf

from generation.audio.seam import seam_report
from tests.e2e.harness import World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    ambient,
    decode,
    details,
    field,
    job_id_of,
    mp3s,
    picture,
    rerollable,
    result_for_job,
    result_of,
)
from tests.e2e.screens import answer, press

pytestmark = pytest.mark.e2e


def samples_of(world: World, message: dict) -> tuple[np.ndarray, int]:
    (attachment,) = mp3s(message)
    with sf.SoundFile(io.BytesIO(world.standin.attachment_bytes(attachment))) as audio:
        return audio.read(dtype="float32"), audio.samplerate


async def test_loop_flows_from_its_end_into_its_start(world: World) -> None:
    # A seed whose most alike ends would meet at a loudness step: the loop searches further.
    handle = await ambient(
        world, world.alice, prompt="waves on a pebble beach", duration=8.0, loop=True, seed=2335435112
    )
    result = await rerollable(world, await result_of(world, handle))
    samples, rate = samples_of(world, result)
    # Shorter than the clip by the crossfade and the trimmed ends, and said so in the card.
    assert 4.0 < samples.shape[0] / rate < 8.0
    info = await details(world, result)
    assert abs(float(field(info, "Duration").removesuffix(" s")) - samples.shape[0] / rate) < 0.01
    assert field(info, "Loop") == "seamless"
    # Played on repeat, the seam is no louder a step or a jump than the clip's own moments.
    report = seam_report(samples, rate)
    assert not report.stands_out, report
    assert picture(world, result).format == "PNG"


async def test_long_render_shows_segments_and_lands_at_the_exact_length(world: World) -> None:
    world.bot.hold("crackling campfire")  # held after its first step until the segment line is seen
    handle = await ambient(
        world, world.bob, prompt="crackling campfire at night", length="1:10", quality="fast"
    )
    segment = re.compile(r"^Generating segment 1 of 3 — \d+ % \(step 1/25\)$")
    await handle.wait_original(lambda m: bool(segment.match(m.get("content") or "")), timeout=60)
    world.bot.release()
    result = await rerollable(world, await result_of(world, handle))
    (attachment,) = mp3s(result)
    frames, rate = decode(world, attachment)
    assert frames == 70 * rate
    assert attachment["size"] < 10 * 1024 * 1024
    info = await details(world, result)
    assert field(info, "Length") == "1 min 10 s" and field(info, "Duration") == "1 min 10 s"
    assert field(info, "Sampler") == "fast (DPM-Solver++)" and field(info, "Steps") == "25"
    (row,) = world.bot.db_rows("SELECT duration_s FROM generations")
    assert row["duration_s"] == 70.0  # the history lists the render's length, not a segment's
    assert picture(world, result).format == "PNG"


async def test_layered_scene_rerolls_one_layer_and_changes_levels_without_rendering(world: World) -> None:
    handle = await ambient(world, world.alice, prompt="rain:0.8 + crickets:0.4", duration=4.0, seed=11)
    first = await rerollable(world, await result_of(world, handle))
    job_id = job_id_of(first)
    info = await details(world, first)
    assert field(info, "Layers") == "rain (0.8) + crickets (0.4)" and field(info, "Seed") == "11"
    # The card names the whole scene, and so do its file and its history row.
    assert first["embeds"][0]["title"] == "rain:0.8 + crickets:0.4"
    assert mp3s(first)[0]["filename"] == "rain_crickets-11.mp3"
    (scene_row,) = world.bot.db_rows("SELECT user_text FROM generations WHERE job_id = ?", (job_id,))
    assert scene_row["user_text"] == "rain:0.8 + crickets:0.4"
    controls = [c for row in first["components"] for c in row["components"]]
    custom_ids = {c["custom_id"] for c in controls}
    assert {f"ambientgen:layer:{job_id}", f"ambientgen:levels:{job_id}"} <= custom_ids
    before = stems_of(world, job_id)
    assert len(before) == 2
    original, _ = samples_of(world, first)

    # New take of layer 2 only: the stems file of the new job keeps layer 1 byte for byte.
    picked = await world.standin.select_menu(
        int(first["id"]), f"ambientgen:layer:{job_id}", ["1"], user=world.bob
    )
    note = await answer(picked)
    assert note["content"].startswith("🎲 Queued a new take of layer 2")
    layer_job = int(note["content"].split("#")[1].split(")")[0])
    rerolled = await result_for_job(world, layer_job)
    assert rerolled["content"].startswith(f"<@{world.bob.id}> 🎧 Rerolled a layer of")
    after = stems_of(world, layer_job)
    assert np.array_equal(before[0], after[0]) and not np.array_equal(before[1], after[1])
    assert _stem_files(world) == 3  # layer 1 is stored once, for both scenes
    (row,) = world.bot.db_rows("SELECT kind, gen_seconds FROM jobs WHERE id = ?", (layer_job,))
    assert row["kind"] == "layer" and row["gen_seconds"] > 0

    # Levels: the form is filled with the current levels; a bad one is refused privately.
    click = await press(world, first, f"ambientgen:levels:{job_id}", world.alice)
    assert (await click.response()).type == 9 and click.modal is not None
    defaults = {
        label["component"]["custom_id"]: label["component"]["value"] for label in click.modal["components"]
    }
    assert defaults == {"gain0": "0.8", "gain1": "0.4"}
    form = f"ambientgen:levels:{job_id}"
    bad = await world.standin.submit_modal(form, {"gain0": "loud", "gain1": "0.4"}, user=world.alice)
    assert "Level 1 must be a number from 0 to 2" in (await answer(bad))["content"]
    reopened = await press(world, first, f"ambientgen:levels:{job_id}", world.alice)
    assert (await reopened.response()).type == 9
    good = await world.standin.submit_modal(form, {"gain0": "0.8", "gain1": "0"}, user=world.alice)
    assert (await answer(good))["content"].startswith("🎚️ Remixing at rain 0.8, crickets 0")
    remix_job = int(world.bot.db_rows("SELECT MAX(id) AS id FROM jobs WHERE kind = 'remix'")[0]["id"])
    remixed = await result_for_job(world, remix_job)
    assert field(await details(world, remixed), "Layers") == "rain (0.8) + crickets (0)"
    (row,) = world.bot.db_rows("SELECT gen_seconds FROM jobs WHERE id = ?", (remix_job,))
    assert row["gen_seconds"] == 0  # no GPU work: the stored stems were remixed
    muted, _ = samples_of(world, remixed)
    assert muted.shape == original.shape and not np.array_equal(muted, original)
    assert _stem_files(world) == 3  # a level change stores no new stem


@pytest.mark.bot_config({"queue": {"max_pending_per_user": 5}})
async def test_best_of_n_posts_the_top_candidate_and_reroll_serves_the_next_from_cache(world: World) -> None:
    handle = await ambient(
        world, world.alice, prompt="wind through pine trees", duration=3.0, candidates=3, seed=500
    )
    result = await rerollable(world, await result_of(world, handle))
    job_id = job_id_of(result)
    ranked = world.bot.db_rows("SELECT * FROM candidates WHERE job_id = ? ORDER BY rank", (job_id,))
    assert [r["rank"] for r in ranked] == [0, 1, 2]
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    seeds = [json_seed(r["request_json"]) for r in ranked]
    assert sorted(seeds) == [500, 501, 502]
    info = await details(world, result)
    assert int(field(info, "Seed")) == seeds[0]  # the posted take is the top-ranked one
    assert field(info, "Best of") == "3"
    assert "next-best take (2 ready)" in result["embeds"][0]["footer"]["text"]

    # 🔁 serves the next-ranked candidate at once, with no GPU work, credited to the reactor.
    for user, rank in ((world.bob, 1), (world.carol, 2)):
        await world.standin.add_reaction(user, world.channel_id, int(result["id"]), "🔁")
        served = await world.standin.wait_for_message(
            world.channel_id,
            lambda m, u=user: (
                m.get("content", "").startswith(f"<@{u.id}> 🎧 Rerolled") and bool(m.get("attachments"))
            ),
            timeout=RESULT_TIMEOUT_S,
        )
        assert int(field(await details(world, served), "Seed")) == seeds[rank]
        (mp3,) = mp3s(served)
        stored = world.bot.data_dir / ranked[rank]["mp3_path"]
        assert world.standin.attachment_bytes(mp3) == stored.read_bytes()
        (row,) = world.bot.db_rows("SELECT gen_seconds FROM jobs WHERE id = ?", (job_id_of(served),))
        assert row["gen_seconds"] == 0
    # All candidates served: the next 🔁 generates a new best-of-3 with a new seed.
    await world.standin.add_reaction(world.alice, world.channel_id, int(result["id"]), "🔁")
    fresh = await world.standin.wait_for_message(
        world.channel_id,
        lambda m: (
            m.get("content", "").startswith(f"<@{world.alice.id}> 🎧 Rerolled") and bool(m.get("attachments"))
        ),
        timeout=RESULT_TIMEOUT_S,
    )
    assert int(field(await details(world, fresh), "Seed")) not in seeds
    (row,) = world.bot.db_rows("SELECT gen_seconds FROM jobs WHERE id = ?", (job_id_of(fresh),))
    assert row["gen_seconds"] > 0


def stems_of(world: World, job_id: int) -> list[np.ndarray]:
    """A scene's stored stems, in layer order (content-addressed files named in the stems table)."""
    rows = world.bot.db_rows("SELECT sha256 FROM stems WHERE job_id = ? ORDER BY layer", (job_id,))
    return [np.load(world.bot.data_dir / "stems" / f"{row['sha256']}.npy") for row in rows]


def _stem_files(world: World) -> int:
    return len(list((world.bot.data_dir / "stems").glob("*.npy")))


def json_seed(request_json: str) -> int:
    import json

    return int(json.loads(request_json)["seed"])


@pytest.mark.bot_config({"queue": {"max_batch": 4}})
async def test_waiting_compatible_jobs_run_as_one_batch(world: World) -> None:
    world.bot.hold("distant thunder")  # busy until the three others wait behind it
    busy = await ambient(world, world.alice, prompt="distant thunder", duration=5.0)
    await busy.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    waiting = [
        await ambient(world, user, prompt=text, duration=3.0, seed=7)
        for user, text in ((world.bob, "forest birds"), (world.carol, "cafe chatter"), (world.alice, "ocean"))
    ]
    for handle in waiting:
        await handle.wait_original(lambda m: m["content"].startswith("Queued"))
    world.bot.release()
    for handle in waiting:
        await rerollable(world, await result_of(world, handle))
    rows = world.bot.db_rows("SELECT id, started_at, gen_seconds FROM jobs WHERE id > 1 ORDER BY id")
    assert len(rows) == 3
    assert len({r["started_at"] is not None for r in rows}) == 1
    assert len({r["gen_seconds"] for r in rows}) == 1  # one pipeline call made all three
    log = world.bot.log()
    assert "batch of 3 job(s), 3 clip(s) generated" in log
    assert re.search(r"executor idle gap [\d.]+ ms with work waiting", log)
    # Batching does not change a request's audio: the same seed alone gives the same sound.
    alone = await ambient(world, world.bob, prompt="forest birds", duration=3.0, seed=7)
    solo = await rerollable(world, await result_of(world, alone))
    batched = await result_for_job(world, rows[0]["id"])
    difference = np.abs(samples_of(world, solo)[0] - samples_of(world, batched)[0])
    assert difference.max() < 1e-3


@pytest.mark.bot_config({"queue": {"max_batch": 4}})
async def test_cancelling_one_job_of_a_batch_keeps_the_others_going(world: World) -> None:
    world.bot.hold("deep space drone")
    busy = await ambient(world, world.alice, prompt="deep space drone", duration=5.0)
    await busy.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    batched = [
        await ambient(world, user, prompt=text, duration=4.0, seed=3)
        for user, text in ((world.bob, "forest birds"), (world.carol, "cafe chatter"))
    ]
    for handle in batched:
        await handle.wait_original(lambda m: m["content"].startswith("Queued"))
    # The busy job goes on; the two that waited start together and are held in their batch
    # while carol cancels hers.
    world.bot.hold("forest birds")
    await batched[1].wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    cancel = await world.standin.invoke_command(
        "cancel", user=world.carol, guild_id=world.guild.id, channel_id=world.channel_id
    )
    answer = await cancel.wait_original(lambda m: bool(m["content"]), timeout=10)
    assert answer["content"].startswith("Stopping job #")
    world.bot.release()
    delivered = await rerollable(world, await result_of(world, batched[0]))
    assert field(await details(world, delivered), "Duration") == "4 s"
    await batched[1].wait_original(lambda m: m["content"] == "🛑 Cancelled.", timeout=RESULT_TIMEOUT_S)
    rows = world.bot.db_rows("SELECT user_id, status FROM jobs WHERE id > 1 ORDER BY id")
    assert [(r["user_id"], r["status"]) for r in rows] == [
        (world.bob.id, "done"),
        (world.carol.id, "cancelled"),
    ]
    assert "batch of 2 job(s), 2 clip(s) generated" in world.bot.log()
