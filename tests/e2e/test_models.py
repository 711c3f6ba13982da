"""Several models end to end: choosing one, /presets and /status per model, mixing layers of two, the
CLI's parity, blind A/B tests.

Each test starts one bot with the two models it needs (``tiny`` and ``tiny-sao``) and covers a
whole journey, so the suite pays for few bot starts.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from generation.audio.loudness import integrated_loudness
from generation.audio.seam import seam_report
from generation.audio.tags import read_tags
from tests.e2e.harness import REPO, TORCH_THREADS, World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    ambient,
    details,
    field,
    is_result,
    job_id_of,
    mp3s,
    result_for_job,
    result_of,
)
from tests.e2e.screens import answer, press
from tests.standin import Perm

pytestmark = pytest.mark.e2e

TWO_MODELS = {"model": {"also": [{"id": "tiny-sao"}]}}


def audio_of(world: World, attachment: dict) -> tuple[np.ndarray, int, bytes]:
    data = world.standin.attachment_bytes(attachment)
    with sf.SoundFile(io.BytesIO(data)) as audio:
        return audio.read(dtype="float32", always_2d=True), audio.samplerate, data


async def invoke(world: World, name: str, user, subcommand: str | None = None, **options):  # type: ignore[no-untyped-def]
    return await world.standin.invoke_command(
        name, options, subcommand=subcommand, user=user, guild_id=world.guild.id, channel_id=world.channel_id
    )


def cli_generate(tmp: str, *args: str) -> bytes:
    """``ambientgen generate`` in a child process (this checkout's code); the MP3 it wrote.

    It gets the bot's OpenMP thread count: with another one torch's CPU kernels sum in another
    order (measured, 1 vs 2 threads: waveforms ~141 dB apart), and the MP3 encoder turns that into
    other quantisation choices (decoded: ~35 dB under the sound), so the files would differ.
    """
    out = os.path.join(tmp, "cli.mp3")
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "generate", *args, "-o", out],
        cwd=tmp, env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": TORCH_THREADS},
        capture_output=True, text=True, timeout=240,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open(out, "rb") as file:
        return file.read()


@pytest.mark.bot_config(TWO_MODELS)
async def test_choosing_a_model_layers_of_two_models_and_the_clis_parity(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Autocomplete offers the loaded models; an unknown name is refused privately, naming them.
    complete = await world.standin.invoke_autocomplete(
        "ambient", {"prompt": "x", "model": "sao"}, focused="model", user=world.carol,
        guild_id=world.guild.id, channel_id=world.channel_id,
    )  # fmt: skip
    await complete.response()
    assert [c["value"] for c in complete.choices or []] == ["tiny-sao"]
    refused = await answer(await ambient(world, world.carol, prompt="rain", model="stable-audio-9"))
    assert (
        refused["content"] == "The model 'stable-audio-9' isn't loaded here. Choose one of: tiny, tiny-sao."
    )
    assert world.bot.db_rows("SELECT id FROM jobs") == []

    # /presets names the models loaded; with model: it shows each preset as tuned for that one.
    catalogue = (await answer(await invoke(world, "presets", world.carol)))["embeds"][0]
    assert "**tiny** (AudioLDM2, the default)" in catalogue["description"]
    assert "**tiny-sao** (Stable Audio Open)" in catalogue["description"]
    tuned = (await answer(await invoke(world, "presets", world.carol, model="tiny-sao")))["embeds"][0]
    assert tuned["title"] == "Presets on tiny-sao (Stable Audio Open)"
    rain = next(f["value"] for f in tuned["fields"] if f["name"].endswith("(`rain`)"))
    assert "100 steps (catalogue: 50) · fast 50 (catalogue: 25) · guidance 7" in rain
    assert "Worded its own way: …, steady rain" in rain
    unknown = await answer(await invoke(world, "presets", world.carol, model="tiny-sa9"))
    assert unknown["content"] == "The model 'tiny-sa9' isn't loaded here. Choose one of: tiny, tiny-sao."

    # A clip on tiny-sao: stereo 44.1 kHz of the asked length, on the loudness target, named.
    # /status, while it is held on the GPU, shows each model and which one is generating.
    world.bot.hold("rain on a tin roof")
    handle = await ambient(
        world,
        world.alice,
        prompt="rain on a tin roof",
        model="tiny-sao",
        duration=3.0,
        seed=42,
        quality="fast",
    )
    await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=RESULT_TIMEOUT_S)
    status = await answer(await invoke(world, "status", world.carol))
    assert len(status["embeds"]) == 1  # a user's view: the models and what they are doing, no device
    assert field(status, "Models") == "• tiny (default) — free\n• tiny-sao — 1 generating · 0 waiting"
    admins = world.standin.add_role(world.guild.id, "admins", int(Perm.MANAGE_GUILD))
    world.standin.add_member(world.guild.id, world.carol, roles=[admins])
    status = await answer(await invoke(world, "status", world.carol))  # Manage Server: the operator's
    assert field(status, "Model tiny (default)") == "AudioLDM2 · 16 kHz mono · cpu (float32)\nidle · no jobs"
    assert field(status, "Model tiny-sao") == (
        "Stable Audio Open · 44.1 kHz stereo · cpu (float32)\ngenerating now · 1 running · 0 waiting"
    )
    world.bot.release()
    result = await result_of(world, handle)
    (attachment,) = mp3s(result)
    samples, rate, data = audio_of(world, attachment)
    assert rate == 44_100 and samples.shape == (3 * 44_100, 2)
    assert integrated_loudness(samples, rate) == pytest.approx(-18.0, abs=0.5)
    tags = read_tags(data)
    assert tags["model"] == "tiny-sao" and "tiny-sao" in tags["comment"]
    assert field(await details(world, result), "Model") == "tiny-sao"
    (row,) = world.bot.db_rows("SELECT model FROM generations WHERE job_id = ?", (job_id_of(result),))
    assert row["model"] == "tiny-sao"  # what history and the gallery show

    # The CLI renders the same recipe and seed to the same samples: one render path.
    cli = await asyncio.to_thread(
        cli_generate, str(tmp_path), "rain on a tin roof", "--model", "tiny-sao", "-s", "42", "-d", "3",
        "--quality", "fast", "--device", "cpu",
    )  # fmt: skip
    with sf.SoundFile(io.BytesIO(cli)) as audio:
        cli_samples = audio.read(dtype="float32", always_2d=True)
    # Same path, same settings, same thread count (TORCH_THREADS): the very same samples.
    assert cli_samples.shape == samples.shape
    assert np.array_equal(cli_samples, samples)

    # A long looping render on tiny-sao: exact length, and its wrap-around does not stand out.
    handle = await ambient(
        world, world.bob, prompt="wind in the pines", model="tiny-sao", length="40", loop=True, quality="fast"
    )
    long = await result_of(world, handle)
    (attachment,) = mp3s(long)
    samples, rate, _ = audio_of(world, attachment)
    assert rate == 44_100 and samples.shape == (40 * 44_100, 2)
    report = seam_report(samples, rate)
    assert not report.stands_out, report

    # A scene mixing a tiny layer with a tiny-sao one: one rate (the higher), stereo, in sync.
    handle = await ambient(
        world, world.alice, prompt="rain:0.8 + crickets:0.5@tiny-sao", duration=3.0, seed=5
    )
    scene = await result_of(world, handle)
    assert field(await details(world, scene), "Layers") == "rain (0.8) + crickets (0.5, tiny-sao)"
    (attachment,) = mp3s(scene)
    mixed, rate, data = audio_of(world, attachment)
    assert rate == 44_100 and mixed.shape == (3 * 44_100, 2)
    assert "tiny" in read_tags(data)["comment"] and "tiny-sao" in read_tags(data)["comment"]
    scene_id = job_id_of(scene)
    stems = [
        np.load(world.bot.data_dir / "stems" / f"{row['sha256']}.npy")
        for row in world.bot.db_rows("SELECT sha256 FROM stems WHERE job_id = ? ORDER BY layer", (scene_id,))
    ]
    assert len(stems) == 2 and stems[0].shape[0] == stems[1].shape[0]  # one rate, same length
    # A remix at new levels still works from those stems (no rendering).
    form = f"ambientgen:levels:{scene_id}"
    opened = await press(world, scene, form, world.alice)
    assert (await opened.response()).type == 9
    done = await world.standin.submit_modal(form, {"gain0": "0.8", "gain1": "0"}, user=world.alice)
    assert (await answer(done))["content"].startswith("🎚️ Remixing at rain 0.8, crickets 0")
    remix_id = int(world.bot.db_rows("SELECT MAX(id) AS id FROM jobs WHERE kind = 'remix'")[0]["id"])
    remixed = await result_for_job(world, remix_id)
    (attachment,) = mp3s(remixed)
    again, rate, _ = audio_of(world, attachment)
    assert rate == 44_100 and again.shape == mixed.shape and not np.array_equal(again, mixed)


@pytest.mark.bot_config({**TWO_MODELS, "compare": {"reveal_after_votes": 3}})
async def test_compare_is_blind_until_the_reveal_and_counts_one_vote_each(world: World) -> None:
    start = len(world.standin.requests)
    handle = await invoke(
        world,
        "compare",
        world.alice,
        "models",
        prompt="rain on a tin roof",
        duration=3.0,
        seed=7,
        quality="fast",
    )
    post = await result_of(world, handle)
    assert is_result(post)
    job_id = job_id_of(post)
    takes = mp3s(post)
    assert [a["filename"] for a in takes] == ["rain-on-a-tin-roof-7-A.mp3", "rain-on-a-tin-roof-7-B.mp3"]
    decoded = [audio_of(world, a) for a in takes]
    # One format for both (the higher rate, stereo), the same length and loudness: nothing to tell.
    assert {(a.shape, rate) for a, rate, _ in decoded} == {((3 * 44_100, 2), 44_100)}
    for samples, rate, data in decoded:
        assert integrated_loudness(samples, rate) == pytest.approx(-18.0, abs=0.5)
        assert not any("tiny" in value.lower() for value in read_tags(data).values())

    def shown_so_far() -> str:
        """Everything the bot sent Discord since /compare (messages, embeds, components, names)."""
        return json.dumps(
            [(r.path, r.json, [f.filename for f in r.files]) for r in world.standin.requests[start:]]
        ).lower()

    assert "tiny" not in shown_so_far()
    custom_ids = {c["custom_id"] for row in post["components"] for c in row["components"]}
    assert {
        f"ambientgen:vote:{job_id}:A",
        f"ambientgen:vote:{job_id}:B",
        f"ambientgen:reveal:{job_id}",
    } <= custom_ids

    # One vote each, changeable.
    first = await answer(await press(world, post, f"ambientgen:vote:{job_id}:A", world.alice))
    assert first["content"].startswith("🗳️ Your vote for take A is in")
    same = await answer(await press(world, post, f"ambientgen:vote:{job_id}:A", world.alice))
    assert same["content"] == "You had already voted for take A."
    changed = await answer(await press(world, post, f"ambientgen:vote:{job_id}:B", world.alice))
    assert changed["content"] == "🗳️ You changed your vote from take A to take B."
    await answer(await press(world, post, f"ambientgen:vote:{job_id}:B", world.bob))
    current = world.standin.message(int(post["id"]))
    assert field(current, "Votes") == "2 votes"
    assert world.bot.db_rows("SELECT COUNT(*) AS n FROM compare_votes")[0]["n"] == 2
    # Only the author reveals before the count (3) is reached.
    early = await answer(await press(world, post, f"ambientgen:reveal:{job_id}", world.bob))
    assert early["content"].startswith("Only the person who asked for this comparison can reveal it early")
    assert "tiny" not in shown_so_far()

    revealed = await answer(await press(world, post, f"ambientgen:reveal:{job_id}", world.alice))
    (models,) = world.bot.db_rows("SELECT model_a, model_b FROM compares WHERE job_id = ?", (job_id,))
    assert {models["model_a"], models["model_b"]} == {"tiny", "tiny-sao"}
    winner = models["model_b"]
    assert revealed["content"] == f"🔓 Revealed. Take B wins: {winner}, 2 to 0."
    current = world.standin.message(int(post["id"]))
    assert field(current, "Take A").startswith(models["model_a"] + " — 0 votes")
    assert field(current, "Take B") == f"{winner} — 2 votes 🏆"
    left = {c["custom_id"] for row in current["components"] for c in row["components"]}
    assert not any(c.startswith(("ambientgen:vote:", "ambientgen:reveal:")) for c in left)
    # (A vote after the reveal is refused: tests/bot/storage/test_compares.py.)
    rows = world.bot.db_rows(
        "SELECT model FROM generations WHERE job_id = ? ORDER BY variation_index", (job_id,)
    )
    assert [r["model"] for r in rows] == [models["model_a"], models["model_b"]]  # history names them now

    stats = await answer(await invoke(world, "compare", world.carol, "stats"))
    (everything, *_) = stats["embeds"][0]["fields"]
    assert everything["name"] == "All presets"
    assert f"**{winner}** — won 1 of 1" in everything["value"]
