"""The bot with GPU workers through a real Redis that fills up (``maxmemory``, ``noeviction``).

Before issue 21, Redis's ``OOM command not allowed`` escaped the bot's send (the job failed with
"unexpected failure") and ended its poll for good: later workers were never seen.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import RESULT_TIMEOUT_S, job_id_of, rerollable, result_of
from tests.e2e.remote import remote_world
from tests.e2e.test_remote_workers import ambient_in, channel_of, posts_per_job, ran_on, worker_name
from tests.redis_server import fill, make_room
from tests.standin import Perm

pytestmark = pytest.mark.e2e


async def status_fields(world: World) -> dict[str, str]:
    """The fields of /status's operator view (Alice may manage the server), with the user view's
    health line under "Health"."""
    status = await world.standin.invoke_command(
        "status", user=world.alice, guild_id=world.guild.id, channel_id=channel_of(world, world.guild)
    )
    user, operator = (await status.wait_original(lambda m: bool(m.get("embeds")), timeout=30))["embeds"]
    return {"Health": user["description"], **{f["name"]: f["value"] for f in operator["fields"]}}


async def test_a_full_redis_is_lived_through_and_a_worker_started_later_is_seen(tmp_path: Path) -> None:
    bot_models = {"model": {"also": [{"id": "tiny-sao"}]}}
    async with remote_world(
        tmp_path, worker_models=[["tiny"], ["tiny-sao"]], start_workers=False, overrides=bot_models
    ) as world:
        first, later = world.workers
        # Alice manages the server: /status shows her the operator's view too.
        admins = world.standin.add_role(world.guild.id, "admins", int(Perm.MANAGE_GUILD))
        world.standin.add_member(world.guild.id, world.alice, roles=[admins])
        # Its presence lasts 3 heartbeats: it stays online for the bot while Redis refuses its writes.
        first.heartbeat_s = 10
        full = r"Redis answers errors \(.*command not allowed when used memory > 'maxmemory'"
        first.expect_error(".*" + full)
        world.bot.expect_error(".*the bot: " + full)
        await first.start()
        before = await ambient_in(world, world.guild, world.alice, prompt="rain on a roof", duration=2.5)
        before_id = job_id_of(await rerollable(world, await result_of(world, before)))

        await fill(world.redis.url)
        refused = await ambient_in(world, world.guild, world.bob, prompt="harbour at night", duration=2.5)
        await world.bot.wait_for_log(r"jobs \d+: Redis did not take them; they wait", RESULT_TIMEOUT_S)
        await first.wait_for_log(full, RESULT_TIMEOUT_S)  # the worker's own loops meet it too, and live
        # Only the later worker serves this model: it waits for it in the bot's queue.
        sao = await ambient_in(world, world.guild, world.carol, prompt="wind", duration=2.5, model="tiny-sao")
        fields = await status_fields(world)
        assert re.fullmatch(
            r"waiting for Redis \(answering errors since \d\d:\d\d UTC\) \(redis\)", fields["GPU"]
        )
        assert re.fullmatch(r"answering errors since \d\d:\d\d UTC · 0 batches out", fields["Redis"])
        assert fields["GPU workers"] == "1 online · tiny ×1"
        assert fields["Health"].startswith("🟡 The GPU workers can't be reached right now")
        shown = "\n".join([*fields, *fields.values()])
        for secret in ("redis://", "127.0.0.1", str(world.redis.port), socket.gethostname(), "OOM"):
            assert secret not in shown, secret
        assert await worker_name(first) not in shown

        await make_room(world.redis.url)
        await world.bot.wait_for_log(r"the bot: Redis answers again after", RESULT_TIMEOUT_S)
        await later.start()  # seen by the bot's poll, which lived through it all
        results = [await rerollable(world, await result_of(world, h)) for h in (refused, sao)]
        refused_id, sao_id = (job_id_of(message) for message in results)
        assert posts_per_job(world) == {before_id: 1, refused_id: 1, sao_id: 1}
        assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["done"] * 3
        assert ran_on(first, refused_id) and ran_on(later, sao_id) and not ran_on(later, refused_id)
        log = world.bot.log()
        assert log.count(f"jobs {refused_id}: handed to the GPU workers") == 1
        assert len(re.findall(r"the bot: Redis answers errors", log)) == 1  # once, not once per retry
        fields = await status_fields(world)
        assert fields["Redis"] == "answering · 0 batches out"
        assert fields["GPU workers"] == "2 online · tiny ×1, tiny-sao ×1"
