"""Self-tests: an in-process discord.py bot against the Discord stand-in."""

from __future__ import annotations

import asyncio
import io
import re
import warnings
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp
import pytest

with warnings.catch_warnings():
    # discord.player imports audioop (deprecated on Python 3.11+); nothing we can change here.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
from discord import app_commands
from discord.ext import commands

from . import (
    Channel,
    DiscordStandIn,
    FileOption,
    Guild,
    Perm,
    StandInUsageError,
    User,
    discord_py_pointed_at,
)

TOKEN = "test-token"
MP3_BYTES = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8


# -- harness ---------------------------------------------------------------------------------------


@dataclass
class World:
    guild: Guild
    general: Channel
    alice: User


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as instance:
        yield instance


@pytest.fixture
def world(standin: DiscordStandIn) -> World:
    guild = standin.add_guild("Test Guild")
    alice = standin.make_user("alice")
    standin.add_member(guild.id, alice)
    return World(guild=guild, general=standin.text_channel(guild.id), alice=alice)


def make_bot() -> commands.Bot:
    intents = discord.Intents.default()
    intents.members = True
    # A short guild_ready_timeout keeps on_ready from waiting 2 s after the last GUILD_CREATE.
    return commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)


@asynccontextmanager
async def running(standin: DiscordStandIn, bot: commands.Bot) -> AsyncIterator[commands.Bot]:
    """Run ``bot`` against ``standin`` until the block exits; fails fast if login breaks."""
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready, "on_ready")
    with discord_py_pointed_at(standin.api_base_url, standin.gateway_url):
        task = asyncio.create_task(bot.start(standin.token))
        waiter = asyncio.create_task(ready.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
            assert waiter in done, "the bot never became ready"
            yield bot
        finally:
            waiter.cancel()
            await bot.close()
            await asyncio.wait_for(task, 10)


async def sync_to(bot: commands.Bot, guild: Guild) -> list[app_commands.AppCommand]:
    target = discord.Object(guild.id)
    bot.tree.copy_global_to(guild=target)
    return await bot.tree.sync(guild=target)


@asynccontextmanager
async def raw_http(standin: DiscordStandIn) -> AsyncIterator[Callable[..., Any]]:
    """``call(method, path, json=..., auth=True) -> (status, body)`` against the REST API."""
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, *, json: Any = None, auth: bool = True) -> tuple[int, Any]:
            headers = {"Authorization": f"Bot {standin.token}"} if auth else {}
            async with session.request(
                method, standin.api_base_url + path, json=json, headers=headers
            ) as resp:
                body = await resp.json() if resp.content_type == "application/json" else await resp.read()
                return resp.status, body

        yield call


# -- gateway ---------------------------------------------------------------------------------------


async def test_login_ready_guild_create_and_permissions(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    channel_updates: asyncio.Queue[tuple[discord.abc.GuildChannel, discord.abc.GuildChannel]] = (
        asyncio.Queue()
    )

    async def on_guild_channel_update(
        before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        await channel_updates.put((before, after))

    bot.add_listener(on_guild_channel_update)
    async with running(standin, bot):
        cached = bot.get_guild(world.guild.id)
        assert cached is not None and cached.name == "Test Guild"
        # Members arrive through REQUEST_GUILD_MEMBERS -> GUILD_MEMBERS_CHUNK (no presences intent).
        assert {m.name for m in cached.members} >= {"alice", "AmbientGen"}
        channel = cached.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        # discord.py hides voice permissions in text channels; Discord's computation keeps them.
        text_only = ~discord.Permissions.voice().value
        assert (
            channel.permissions_for(cached.me).value == standin.permissions_for(world.general.id) & text_only
        )

        frames = standin.gateway_frames
        opened = next(f for f in frames if f.direction == "open")
        assert opened.d["query"] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
        identify = next(f for f in frames if f.direction == "recv" and f.op == 2)
        assert identify.d["intents"] == bot.intents.value
        sent = [f.t for f in frames if f.direction == "send" and f.op == 0]
        assert sent[:2] == ["READY", "GUILD_CREATE"] and "GUILD_MEMBERS_CHUNK" in sent
        seqs = [f.s for f in frames if f.direction == "send" and f.op == 0]
        assert seqs == list(range(1, len(seqs) + 1))

        # A permission change mid-session reaches discord.py's cache through CHANNEL_UPDATE.
        standin.deny_bot_permissions(world.general.id, Perm.ATTACH_FILES)
        _, updated = await asyncio.wait_for(channel_updates.get(), 5)
        assert updated.id == world.general.id and not channel.permissions_for(cached.me).attach_files
        assert (
            channel.permissions_for(cached.me).value == standin.permissions_for(world.general.id) & text_only
        )


async def test_plain_json_gateway_heartbeat_and_identify_failures(standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(standin.gateway_url + "?v=10&encoding=json") as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json(timeout=5))["op"] == 11
            await ws.send_json({"op": 2, "d": {"token": "Bot " + TOKEN, "intents": 513, "properties": {}}})
            closing = await ws.receive(timeout=5)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4004
        async with session.ws_connect(standin.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws:
            message = await ws.receive(timeout=5)
            assert message.type == aiohttp.WSMsgType.BINARY and message.data.endswith(b"\x00\x00\xff\xff")
            assert b'"heartbeat_interval"' in zlib.decompressobj().decompress(message.data)
            await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": "513", "properties": {}}})
            closing = await ws.receive(timeout=5)
            assert closing.data == 4013


# -- REST basics -----------------------------------------------------------------------------------


async def test_rest_auth_and_error_shapes(standin: DiscordStandIn, world: World) -> None:
    async with raw_http(standin) as call:
        assert await call("GET", "/users/@me", auth=False) == (
            401,
            {"message": "401: Unauthorized", "code": 0},
        )
        assert await call("GET", "/nope") == (404, {"message": "404: Not Found", "code": 0})
        status, body = await call("GET", f"/channels/{world.general.id}/messages/123")
        assert (status, body["code"]) == (404, 10008)
        status, body = await call("GET", "/channels/123/messages")
        assert (status, body["code"]) == (404, 10003)
        status, body = await call("GET", "/channels/abc")
        assert (status, body["code"]) == (400, 50035)
        status, body = await call("GET", "/gateway/bot")
        assert status == 200 and body["url"] == standin.gateway_url
    unauthorized = [r for r in standin.requests if r.status == 401]
    assert len(unauthorized) == 1 and not unauthorized[0].authorized


async def test_sync_registers_commands_and_rejects_invalid_definitions(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()

    @bot.tree.command(name="ambient", description="Turn a sentence into a soundscape")
    @app_commands.describe(prompt="What it should sound like")
    async def ambient(
        interaction: discord.Interaction, prompt: str, seconds: app_commands.Range[int, 5, 60] = 30
    ) -> None:
        await interaction.response.send_message(prompt)

    async with running(standin, bot):
        synced = await sync_to(bot, world.guild)
    registered = standin.commands(world.guild.id)
    assert [c.name for c in synced] == ["ambient"]
    assert registered[0]["id"] == str(synced[0].id)
    assert registered[0]["application_id"] == str(standin.application_id)
    assert [o["type"] for o in registered[0]["options"]] == [3, 4]

    invalid = [
        {"name": "Ambient", "description": "upper case is not allowed", "type": 1},
        {
            "name": "order",
            "description": "required after optional",
            "options": [
                {"type": 3, "name": "a", "description": "optional"},
                {"type": 3, "name": "b", "description": "required", "required": True},
            ],
        },
        {
            "name": "mixed",
            "description": "x" * 101,
            "options": [
                {
                    "type": 3,
                    "name": "c",
                    "description": "d",
                    "autocomplete": True,
                    "choices": [{"name": "n", "value": "v"}],
                }
            ],
        },
    ]
    async with raw_http(standin) as call:
        status, body = await call(
            "PUT", f"/applications/{standin.application_id}/guilds/{world.guild.id}/commands", json=invalid
        )
    assert status == 400 and body["code"] == 50035 and body["message"] == "Invalid Form Body"
    errors = body["errors"]
    assert errors["0"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert errors["1"]["options"]["1"]["_errors"][0]["code"] == "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"
    assert errors["2"]["description"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    assert "autocomplete" in errors["2"]["options"]["0"]
    # A rejected overwrite leaves the registered commands untouched.
    assert [c["name"] for c in standin.commands(world.guild.id)] == ["ambient"]


async def test_invoke_validates_against_the_registered_schema(standin: DiscordStandIn, world: World) -> None:
    definition = {
        "name": "ambient",
        "description": "d",
        "options": [
            {"type": 3, "name": "prompt", "description": "p", "required": True},
            {"type": 4, "name": "seconds", "description": "s", "min_value": 5, "max_value": 60},
        ],
    }
    async with raw_http(standin) as call:
        status, _ = await call("PUT", f"/applications/{standin.application_id}/commands", json=[definition])
    assert status == 200
    kwargs: dict[str, Any] = {"user": world.alice, "guild_id": world.guild.id}
    with pytest.raises(StandInUsageError, match="never registered /missing"):
        await standin.invoke_command("missing", {}, **kwargs)
    with pytest.raises(StandInUsageError, match="no option 'volume'"):
        await standin.invoke_command("ambient", {"prompt": "rain", "volume": 3}, **kwargs)
    with pytest.raises(StandInUsageError, match="expected a number"):
        await standin.invoke_command("ambient", {"prompt": "rain", "seconds": "10"}, **kwargs)
    with pytest.raises(StandInUsageError, match="max_value"):
        await standin.invoke_command("ambient", {"prompt": "rain", "seconds": 61}, **kwargs)
    with pytest.raises(StandInUsageError, match="missing required"):
        await standin.invoke_command("ambient", {"seconds": 10}, **kwargs)
    with pytest.raises(StandInUsageError, match="no gateway session"):
        await standin.invoke_command("ambient", {"prompt": "rain"}, **kwargs)


# -- interactions ----------------------------------------------------------------------------------


async def test_slash_command_defers_edits_and_follows_up_with_a_file(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()

    @bot.tree.command(name="ambient", description="Turn a sentence into a soundscape")
    async def ambient(interaction: discord.Interaction, prompt: str) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content=f"Composing *{prompt}*…")
        await interaction.followup.send(
            "Here it is", file=discord.File(io.BytesIO(MP3_BYTES), filename="rain.mp3")
        )

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        handle = await standin.invoke_command(
            "ambient", {"prompt": "rain"}, user=world.alice, guild_id=world.guild.id
        )
        response = await handle.response(timeout=5)
        assert response.type == 5 and response.elapsed < 3
        edit = await handle.edit(timeout=5)
        assert edit.message["content"] == "Composing *rain*…" and not edit.message["flags"] & 128
        followup = await handle.followup(timeout=5)

    assert handle.payload["data"]["options"] == [{"name": "prompt", "type": 3, "value": "rain"}]
    assert handle.payload["member"]["user"]["username"] == "alice"
    assert followup["type"] == 20 and followup["content"] == "Here it is"
    assert followup["interaction_metadata"]["original_response_message_id"] == handle.original["id"]
    [attachment] = followup["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "rain.mp3",
        "audio/mpeg",
        len(MP3_BYTES),
    )
    async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as resp:
        assert resp.status == 200 and await resp.read() == MP3_BYTES
    assert standin.attachment_bytes(attachment) == MP3_BYTES
    assert [m["content"] for m in standin.messages_in(world.general.id)] == [
        "Composing *rain*…",
        "Here it is",
    ]


async def test_followup_after_token_expiry_fails_with_50027(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    go = asyncio.Event()
    outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    @bot.tree.command(name="slow", description="Answers much later")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await go.wait()
        try:
            await interaction.followup.send("too late")
        except discord.HTTPException as exc:
            outcome.set_result(exc)
        else:
            outcome.set_result(None)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        handle = await standin.invoke_command("slow", user=world.alice, guild_id=world.guild.id)
        assert (await handle.response()).type == 5
        standin.advance_clock(16 * 60)
        go.set()
        error = await asyncio.wait_for(outcome, 5)
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (401, 50027)


async def test_callback_deadline_and_double_acknowledgement(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    go = asyncio.Event()
    late: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    @bot.tree.command(name="late", description="Responds after the 3 s window")
    async def late_command(interaction: discord.Interaction) -> None:
        await go.wait()
        try:
            await interaction.response.send_message("hi")
        except discord.HTTPException as exc:
            late.set_result(exc)

    @bot.tree.command(name="quick", description="Responds at once")
    async def quick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("hi", ephemeral=True)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        slow_handle = await standin.invoke_command("late", user=world.alice, guild_id=world.guild.id)
        standin.advance_clock(3.5)
        go.set()
        error = await asyncio.wait_for(late, 5)
        assert isinstance(error, discord.NotFound) and error.code == 10062
        assert not slow_handle.responded

        handle = await standin.invoke_command("quick", user=world.alice, guild_id=world.guild.id)
        response = await handle.response()
        assert response.type == 4 and response.ephemeral
        assert standin.messages_in(world.general.id, include_ephemeral=False) == []
        async with raw_http(standin) as call:
            status, body = await call(
                "POST", f"/interactions/{handle.id}/{handle.token}/callback", json={"type": 5}, auth=False
            )
    assert (status, body) == (400, {"message": "Interaction has already been acknowledged.", "code": 40060})


async def test_autocomplete_round_trip(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()

    @bot.tree.command(name="ambient", description="d")
    async def ambient(interaction: discord.Interaction, preset: str) -> None:
        await interaction.response.send_message(preset)

    @ambient.autocomplete("preset")
    async def presets(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["rainforest", "rain on a tin roof", "ocean"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        handle = await standin.invoke_autocomplete(
            "ambient", {"preset": "rain"}, focused="preset", user=world.alice, guild_id=world.guild.id
        )
        assert (await handle.response()).type == 8
    assert [c["value"] for c in handle.choices or []] == ["rainforest", "rain on a tin roof"]


class FeedbackModal(discord.ui.Modal, title="Rate this soundscape"):
    # The legacy layout (text input in an action row) and the label layout, side by side.
    comment: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Comment", custom_id="comment")
    stars: discord.ui.Label[FeedbackModal] = discord.ui.Label(
        text="Stars",
        component=discord.ui.Select(
            custom_id="stars", options=[discord.SelectOption(label=s, value=s) for s in "12345"]
        ),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        select = self.stars.component
        assert isinstance(select, discord.ui.Select)
        await interaction.response.send_message(f"Thanks: {self.comment.value} ({select.values[0]} stars)")


class FeedbackView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.picked: list[str] = []

    @discord.ui.button(label="Rate", custom_id="rate", style=discord.ButtonStyle.primary)
    async def rate(self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]) -> None:
        await interaction.response.send_modal(FeedbackModal(custom_id="feedback"))

    @discord.ui.select(
        custom_id="mood", options=[discord.SelectOption(label=m, value=m) for m in ("calm", "dark")]
    )
    async def mood(self, interaction: discord.Interaction, select: discord.ui.Select[FeedbackView]) -> None:
        self.picked = list(select.values)
        await interaction.response.edit_message(content=f"Mood: {select.values[0]}")


async def test_button_select_and_modal_reach_the_bot(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    view = FeedbackView()

    @bot.tree.command(name="ambient", description="d")
    async def ambient(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Your soundscape", view=view)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        command = await standin.invoke_command("ambient", user=world.alice, guild_id=world.guild.id)
        await command.response()
        message_id = int(command.original["id"])

        click = await standin.click_button(message_id, "rate", user=world.alice)
        assert (await click.response()).type == 9
        assert click.modal is not None and click.modal["title"] == "Rate this soundscape"
        submit = await standin.submit_modal(
            "feedback", {"comment": "lovely", "stars": ["5"]}, user=world.alice
        )
        submitted = await submit.response()
        assert submitted.type == 4 and submitted.data["content"] == "Thanks: lovely (5 stars)"
        row, label = submit.payload["data"]["components"]
        assert (row["type"], row["components"][0]["value"]) == (1, "lovely")
        assert (label["type"], label["component"]["values"]) == (18, ["5"])
        with pytest.raises(StandInUsageError, match="no open modal"):
            await standin.submit_modal("feedback", {"comment": "again"}, user=world.alice)

        pick = await standin.select_menu(message_id, "mood", ["dark"], user=world.alice)
        assert (await pick.response()).type == 7
        assert view.picked == ["dark"]
        assert standin.message(message_id)["content"] == "Mood: dark"
        with pytest.raises(StandInUsageError, match="no component 'nope'"):
            await standin.click_button(message_id, "nope", user=world.alice)


async def test_only_the_recipient_clicks_an_ephemeral_message_unless_forged(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    clickers: list[int] = []

    class Secret(discord.ui.View):
        @discord.ui.button(label="Open", custom_id="open")
        async def open(self, interaction: discord.Interaction, button: discord.ui.Button[Secret]) -> None:
            clickers.append(interaction.user.id)
            await interaction.response.send_message("opened", ephemeral=True)

    @bot.tree.command(name="secret", description="d")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("for you only", view=Secret(timeout=None), ephemeral=True)

    mallory = standin.make_user("mallory")
    standin.add_member(world.guild.id, mallory)
    async with running(standin, bot):
        await sync_to(bot, world.guild)
        command = await standin.invoke_command("secret", user=world.alice, guild_id=world.guild.id)
        await command.response()
        message_id = int(command.original["id"])
        with pytest.raises(StandInUsageError, match="only the user who received"):
            await standin.click_button(message_id, "open", user=mallory)
        forged = await standin.forge_click(message_id, "open", user=mallory)
        assert (await forged.response()).data["content"] == "opened"
        assert forged.payload["member"]["user"]["id"] == str(mallory.id)
    assert clickers == [mallory.id]


async def test_dm_command_uses_user_not_member(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()

    @bot.tree.command(name="hello", description="d")
    async def hello(interaction: discord.Interaction, clip: discord.Attachment) -> None:
        data = await clip.read()
        await interaction.response.send_message(f"{interaction.user.name} sent {len(data)} bytes")

    async with running(standin, bot):
        await bot.tree.sync()
        handle = await standin.invoke_command(
            "hello", {"clip": FileOption("a.mp3", b"abc")}, user=world.alice
        )
        response = await handle.response()
    assert "member" not in handle.payload and handle.payload["user"]["username"] == "alice"
    assert response.data["content"] == "alice sent 3 bytes"


# -- reactions -------------------------------------------------------------------------------------


async def test_reactions_reach_the_bot_and_bot_reactions_are_recorded(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    added: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()
    removed: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()
    bot.add_listener(added.put, "on_raw_reaction_add")
    bot.add_listener(removed.put, "on_raw_reaction_remove")

    async with running(standin, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("Soundscape ready")

        await standin.add_reaction(world.alice, world.general.id, message.id, "🔥")
        event = await asyncio.wait_for(added.get(), 5)
        assert (event.user_id, event.message_id, event.channel_id, event.guild_id) == (
            world.alice.id,
            message.id,
            world.general.id,
            world.guild.id,
        )
        assert event.emoji.name == "🔥" and event.emoji.id is None and not event.burst
        assert event.member is not None and event.member.name == "alice"
        assert event.message_author_id == bot.user.id

        await standin.remove_reaction(world.alice, world.general.id, message.id, "🔥")
        event = await asyncio.wait_for(removed.get(), 5)
        assert (event.user_id, event.emoji.name) == (world.alice.id, "🔥")

        await message.add_reaction("✅")
        [reaction] = standin.message(message.id)["reactions"]
        assert (reaction["count"], reaction["me"], reaction["emoji"]) == (1, True, {"id": None, "name": "✅"})
        with pytest.raises(discord.HTTPException) as raised:
            await message.add_reaction("not-an-emoji")
        assert raised.value.code == 10014


# -- message validation, permissions and limits ----------------------------------------------------


async def test_message_validation_permissions_and_upload_limit(standin: DiscordStandIn, world: World) -> None:
    secret = standin.add_channel(world.guild.id, "secret")
    bot = make_bot()
    async with running(standin, bot):
        general = bot.get_channel(world.general.id)
        assert isinstance(general, discord.TextChannel)

        with pytest.raises(discord.HTTPException) as raised:
            await general.send("x" * 2001)
        assert (raised.value.status, raised.value.code) == (400, 50035)
        assert (
            standin.requests[-1].response["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        )

        with pytest.raises(discord.HTTPException) as raised:
            await general.send()
        assert (raised.value.status, raised.value.code) == (400, 50006)

        embed = discord.Embed(title="t").add_field(name="empty value", value=" ")
        with pytest.raises(discord.HTTPException) as raised:
            await general.send(embed=embed)
        errors = standin.requests[-1].response["errors"]
        assert errors["embeds"]["0"]["fields"]["0"]["value"]["_errors"][0]["code"] == "BASE_TYPE_REQUIRED"

        standin.set_bot_permissions(secret.id, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        secret_channel = bot.get_channel(secret.id)
        assert isinstance(secret_channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as forbidden:
            await secret_channel.send("hello")
        assert forbidden.value.code == 50013

        standin.deny_bot_permissions(world.general.id, Perm.EMBED_LINKS)
        sent = await general.send("with embed", embed=discord.Embed(title="dropped"))
        assert sent.embeds == [] and standin.message(sent.id)["embeds"] == []

        standin.set_upload_limit(world.guild.id, 1024)
        with pytest.raises(discord.HTTPException) as raised:
            await general.send(file=discord.File(io.BytesIO(b"\0" * 2048), filename="big.mp3"))
        assert (raised.value.status, raised.value.code) == (413, 40005)


async def test_injected_500_and_429_are_retried_by_discord_py(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    async with running(standin, bot):
        general = bot.get_channel(world.general.id)
        assert isinstance(general, discord.TextChannel)
        rule = standin.inject_fault("POST", rf"^/channels/{world.general.id}/messages$", status=500)
        message = await general.send("eventually")
        standin.inject_fault("GET", r"^/channels/\d+$", status=429, retry_after=0.05)
        fetched = await bot.fetch_channel(world.general.id)
    assert fetched.id == world.general.id
    fetches = [r.status for r in standin.requests if r.route == "/channels/{channel_id}"]
    assert fetches == [429, 200]
    attempts = [
        r for r in standin.requests if r.method == "POST" and r.route == "/channels/{channel_id}/messages"
    ]
    assert [(r.status, r.fault) for r in attempts] == [(500, "status"), (200, None)]
    assert attempts[0].response == {"message": "500: Internal Server Error", "code": 0}
    assert rule.remaining == 0 and rule.hits == [attempts[0]]
    assert standin.message(message.id)["content"] == "eventually"


async def test_injected_disconnect_surfaces_as_a_connection_error(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    async with running(standin, bot):
        general = bot.get_channel(world.general.id)
        assert isinstance(general, discord.TextChannel)
        standin.inject_disconnect("POST", r"/messages$")
        with pytest.raises(aiohttp.ClientError):
            await general.send("lost")
        assert (await general.send("delivered")).content == "delivered"
    faults = [r.fault for r in standin.requests if r.method == "POST"]
    assert faults == ["disconnect", None]


# -- reconnects ------------------------------------------------------------------------------------


async def test_drop_gateway_resumes_and_replays_missed_interactions(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed, "on_resumed")

    @bot.tree.command(name="ping", description="d")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        assert await standin.drop_gateway() == 1
        # Dispatched while the bot is disconnected: buffered in the session, replayed on RESUME.
        handle = await standin.invoke_command("ping", user=world.alice, guild_id=world.guild.id)
        await asyncio.wait_for(resumed.wait(), 5)
        assert (await handle.response()).data["content"] == "pong"
        again = await standin.invoke_command("ping", user=world.alice, guild_id=world.guild.id)
        assert (await again.response()).type == 4
    resume = [f for f in standin.gateway_frames if f.direction == "recv" and f.op == 6]
    opens = [f for f in standin.gateway_frames if f.direction == "open"]
    assert len(resume) == 1 and opens[-1].d["path"] == "/gateway-resume"


async def test_a_gateway_outage_refuses_connections_until_it_ends(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    async with running(standin, bot):
        assert await standin.take_gateway_down() == 1
        await standin.wait_until(lambda: standin.refused_gateway_connections >= 1, timeout=10)
        assert not standin.connected
        standin.bring_gateway_up()
        await standin.wait_for_session(timeout=30)  # after discord.py's back-off (a few seconds)
        assert standin.connected


# -- messages in depth ----------------------------------------------------------------------------


async def test_history_replies_embedded_files_and_attachment_edits(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    async with running(standin, bot):
        channel = bot.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = [await channel.send(f"m{i}") for i in range(4)]
        assert [m.content async for m in channel.history(limit=2)] == ["m3", "m2"]
        assert [m.content async for m in channel.history(after=sent[1], oldest_first=True)] == ["m2", "m3"]

        reply = await sent[0].reply("a reply")
        stored = standin.message(reply.id)
        assert stored["type"] == 19 and stored["referenced_message"]["content"] == "m0"
        with pytest.raises(discord.HTTPException) as raised:
            await channel.send(
                "x", reference=discord.MessageReference(message_id=1, channel_id=world.general.id)
            )
        assert raised.value.code == 50035
        errors = standin.requests[-1].response["errors"]
        assert errors["message_reference"]["_errors"][0]["code"] == "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"

        # Files referenced by an embed move into the embed, as on Discord.
        cover = discord.Embed(title="cover").set_image(url="attachment://cover.png")
        with_cover = await channel.send(
            embed=cover, file=discord.File(io.BytesIO(b"png"), filename="cover.png")
        )
        stored = standin.message(with_cover.id)
        assert stored["attachments"] == []
        assert standin.attachment_bytes(stored["embeds"][0]["image"]["url"]) == b"png"

        files = [
            discord.File(io.BytesIO(b"1"), filename="one.txt"),
            discord.File(io.BytesIO(b"2"), filename="two.txt"),
        ]
        message = await channel.send("files", files=files)
        upload = standin.requests[-1]
        assert [(name, filename) for name, filename, _, _ in upload.files] == [
            ("files[0]", "one.txt"),
            ("files[1]", "two.txt"),
        ]
        assert upload.json["attachments"] == [
            {"id": 0, "filename": "one.txt"},
            {"id": 1, "filename": "two.txt"},
        ]
        # PATCH keeps only the listed attachments (existing ids + new uploads).
        three = discord.File(io.BytesIO(b"3"), filename="three.txt")
        edited = await message.edit(attachments=[message.attachments[0], three])
        assert [a.filename for a in edited.attachments] == ["one.txt", "three.txt"]
        assert standin.message(message.id)["edited_timestamp"] is not None


async def test_message_content_intent_and_user_messages(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()  # without the MESSAGE_CONTENT intent
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()
    bot.add_listener(seen.put, "on_message")

    @bot.listen("on_message")
    async def echo(message: discord.Message) -> None:
        if bot.user in message.mentions:
            await message.channel.send(f"echo: {message.content}")

    async with running(standin, bot):
        await standin.send_user_message(world.alice, world.general.id, "hello")
        plain = await asyncio.wait_for(seen.get(), 5)
        assert plain.author.name == "alice" and plain.content == ""
        mention = f"hi <@{standin.bot.id}>"
        await standin.send_user_message(world.alice, world.general.id, mention)
        answer = await standin.wait_for_message(world.general.id, lambda m: m["content"].startswith("echo"))
    assert answer["content"] == f"echo: {mention}"
    assert answer["author"]["id"] == str(standin.bot.id)


async def test_deferred_followup_replaces_the_ephemeral_placeholder(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()

    @bot.tree.command(name="secret", description="d")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send("first", ephemeral=True)
        await interaction.followup.send("second", ephemeral=True)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        handle = await standin.invoke_command("secret", user=world.alice, guild_id=world.guild.id)
        response = await handle.response()
        await handle.followup()
    assert response.type == 5 and response.ephemeral
    # Documented compatibility: the first follow-up after a deferral edits the loading message.
    assert handle.original is not None and handle.original["content"] == "first"
    assert handle.original["flags"] == 64 and len(handle.edits) == 1
    assert [m["content"] for m in handle.followups] == ["second"]
    assert standin.messages_in(world.general.id, include_ephemeral=False) == []


# -- Discord's limits on what the bot builds, forged interactions, members leaving ----------------

_OPTION = {"type": 3, "custom_id": "s", "options": [{"label": "l" * 101, "value": "v"}]}
#: (message body over one limit, the path of the error in the 50035 answer, its code). Required
#: strings answer "Must be between 1 and N in length" (BAD_LENGTH), optional ones MAX_LENGTH.
OVER_LIMITS: list[tuple[dict[str, Any], tuple[str, ...], str]] = [
    ({"content": "x" * 2001}, ("content",), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"title": "t" * 257}]}, ("embeds", "0", "title"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"description": "d" * 4097}]}, ("embeds", "0", "description"), "BASE_TYPE_MAX_LENGTH"),
    (
        {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
        ("embeds", "0", "fields", "0", "name"),
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
        ("embeds", "0", "fields", "0", "value"),
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        {"embeds": [{"footer": {"text": "f" * 2049}}]},
        ("embeds", "0", "footer", "text"),
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
        ("embeds", "0", "fields"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        ("embeds",),
        "MAX_EMBED_SIZE_EXCEEDED",
    ),
    (
        {"content": "x", "components": [{"type": 1, "components": [_OPTION]}]},
        ("components", "0", "components", "0", "options", "0", "label"),
        "BASE_TYPE_BAD_LENGTH",
    ),
]


def _error_code(body: dict[str, Any], path: tuple[str, ...]) -> str:
    node = body["errors"]
    for part in path:
        node = node[part]
    return node["_errors"][0]["code"]


async def test_every_text_limit_is_refused_like_discord(standin: DiscordStandIn, world: World) -> None:
    async with raw_http(standin) as call:
        route = f"/channels/{world.general.id}/messages"
        for body, path, code in OVER_LIMITS:
            status, answer = await call("POST", route, json=body)
            assert (status, answer["code"]) == (400, 50035), body
            assert _error_code(answer, path) == code, (path, answer)
        # Exactly at every limit is fine: 2,000 of content, and a 6,000-character embed.
        full = {
            "content": "x" * 2000,
            "embeds": [{"title": "t" * 256, "description": "d" * 4096, "footer": {"text": "f" * 1648}}],
        }
        status, answer = await call("POST", route, json=full)
        assert status == 200, answer


async def test_a_prefilled_text_input_must_fit_its_max_length(standin: DiscordStandIn, world: World) -> None:
    bot = make_bot()
    refused: list[discord.HTTPException] = []

    @bot.tree.command(name="form", description="d")
    async def form(interaction: discord.Interaction, fits: bool) -> None:
        modal = discord.ui.Modal(title="Form", custom_id="form")
        value = "abcde" if fits else "abcdef"
        modal.add_item(discord.ui.TextInput(label="Prompt", custom_id="p", default=value, max_length=5))
        try:
            await interaction.response.send_modal(modal)
        except discord.HTTPException as error:
            refused.append(error)
            await interaction.response.send_message("refused", ephemeral=True)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        fitting = await standin.invoke_command(
            "form", {"fits": True}, user=world.alice, guild_id=world.guild.id
        )
        assert (await fitting.response()).type == 9
        too_long = await standin.invoke_command(
            "form", {"fits": False}, user=world.alice, guild_id=world.guild.id
        )
        assert (await too_long.response()).data["content"] == "refused"
    (error,) = refused
    assert (error.status, error.code) == (400, 50035)
    body = next(r.response for r in standin.requests if r.status == 400)
    value_path = ("data", "components", "0", "components", "0", "value")
    assert _error_code(body, value_path) == "BASE_TYPE_MAX_LENGTH"


async def test_a_member_who_left_is_not_found(standin: DiscordStandIn, world: World) -> None:
    bob = standin.make_user("bob")
    standin.add_member(world.guild.id, bob)
    bot = make_bot()
    async with running(standin, bot):
        guild = bot.get_guild(world.guild.id)
        assert guild is not None
        assert (await guild.fetch_member(bob.id)).id == bob.id
        standin.remove_member(world.guild.id, bob)
        with pytest.raises(discord.NotFound) as missing:
            await guild.fetch_member(bob.id)
        assert missing.value.code == 10007
        await standin.wait_until(lambda: guild.get_member(bob.id) is None)  # GUILD_MEMBER_REMOVE
    with pytest.raises(StandInUsageError, match="not a member"):
        await standin.invoke_command("anything", user=bob, guild_id=world.guild.id)
    with pytest.raises(StandInUsageError, match="not a member"):
        standin.remove_member(world.guild.id, bob)


class Numbered(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"n:(?P<n>\d+)"):
    seen: ClassVar[list[tuple[int, int]]] = []

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=str(n), custom_id=f"n:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> Numbered:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        assert interaction.message is not None
        Numbered.seen.append((self.n, interaction.message.id))
        await interaction.response.send_message(f"pressed {self.n}", ephemeral=True)


async def test_forged_components_and_modal_submits_reach_the_bot(
    standin: DiscordStandIn, world: World
) -> None:
    bot = make_bot()
    bot.add_dynamic_items(Numbered)
    submitted: list[tuple[str, int | None, Any]] = []

    @bot.event
    async def on_interaction(interaction: discord.Interaction) -> None:
        data: Any = interaction.data or {}
        if interaction.type is discord.InteractionType.component and data.get("component_type") == 3:
            submitted.append(
                (data["custom_id"], interaction.message and interaction.message.id, data["values"])
            )
            await interaction.response.send_message("picked", ephemeral=True)
        elif interaction.type is discord.InteractionType.modal_submit:
            submitted.append((data["custom_id"], interaction.message and interaction.message.id, data))
            await interaction.response.send_message("submitted", ephemeral=True)

    @bot.tree.command(name="show", description="d")
    async def show(interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(Numbered(1))
        await interaction.response.send_message("one button", view=view)

    async with running(standin, bot):
        await sync_to(bot, world.guild)
        command = await standin.invoke_command("show", user=world.alice, guild_id=world.guild.id)
        await command.response()
        message_id = int(command.original["id"])
        with pytest.raises(StandInUsageError):
            await standin.click_button(message_id, "n:2", user=world.alice)  # not on the message
        forged = await standin.forge_component(message_id, "n:2", user=world.alice)
        assert (await forged.response()).data["content"] == "pressed 2"
        assert Numbered.seen[-1] == (2, message_id)
        assert standin.message(message_id)["components"][0]["components"][0]["custom_id"] == "n:1"

        picked = await standin.forge_component(message_id, "pick:9", user=world.alice, values=["3"])
        assert (await picked.response()).data["content"] == "picked"
        assert submitted[-1] == ("pick:9", message_id, ["3"])

        form = await standin.forge_modal_submit(
            "form:5", {"level": "2"}, user=world.alice, message_id=message_id
        )
        assert (await form.response()).data["content"] == "submitted"
        custom_id, source, data = submitted[-1]
        assert (custom_id, source) == ("form:5", message_id)
        assert data["components"][0]["component"] == {"type": 4, "id": 2, "custom_id": "level", "value": "2"}
