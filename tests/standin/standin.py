"""``DiscordStandIn``: the test-facing facade over the server, the gateway and the world."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from .actions import UserActions
from .core import StandInCore
from .errors import StandInUsageError
from .gateway import PRIVILEGED_INTENTS, GatewaySession
from .interactions import InteractionHandle
from .permissions import ALL_PERMISSIONS, DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS
from .recording import FaultRule, GatewayFrame, RecordedRequest
from .server import StandInServer
from .state import DEFAULT_UPLOAD_LIMIT, Channel, ChannelType, Emoji, Guild, Member, Role, User
from .voice.actions import VoiceActions, VoiceStandIn

T = TypeVar("T")

# Waiting helpers take an explicit ``timeout`` (ASYNC109): tests read as ``await h.response(timeout=2)``.

__all__ = ["DiscordStandIn"]


class DiscordStandIn(VoiceActions, UserActions):
    """A local Discord (REST v10 + gateway) for end-to-end tests of an unmodified discord.py bot.

    Usage::

        async with DiscordStandIn(token="test-token") as standin:
            guild = standin.add_guild("Test Guild")
            ...  # point discord.py at standin.api_base_url / standin.gateway_url
    """

    def __init__(
        self,
        token: str = "test-token",
        *,
        bot_name: str = "AmbientGen",
        application_id: int | None = None,
        heartbeat_interval_ms: int = 41250,
        privileged_intents: int = PRIVILEGED_INTENTS,
        host: str = "127.0.0.1",
        shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        self._core = StandInCore(
            token=token,
            bot_name=bot_name,
            application_id=application_id,
            heartbeat_interval_ms=heartbeat_interval_ms,
            privileged_intents=privileged_intents,
        )
        # What GET /gateway/bot recommends; each IDENTIFY with shard [i, n] gets the guilds with
        # (guild_id >> 22) % n == i, and DMs go to shard 0.
        self._core.hub.recommended_shards = shards
        self._core.hub.max_concurrency = max_concurrency
        self._server = StandInServer(self._core, host=host)
        self._voice = VoiceStandIn(self._core)
        self._handles: dict[int, InteractionHandle] = {}

    @property
    def recommended_shards(self) -> int:
        """The shard count ``GET /gateway/bot`` recommends."""
        return self._core.hub.recommended_shards

    def live_shards(self) -> list[tuple[int, int]]:
        """``(shard_id, shard_count)`` of every live gateway session."""
        return sorted(session.shard for session in self._core.hub.live_sessions())

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> DiscordStandIn:
        await self._server.start()
        await self._voice.start()
        return self

    async def stop(self) -> None:
        await self._voice.stop()
        await self._server.stop()

    async def __aenter__(self) -> DiscordStandIn:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        if exc is None and self._core.internal_errors:
            raise ExceptionGroup("the Discord stand-in hit internal errors", list(self._core.internal_errors))

    # -- configuration and URLs ----------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self._core.token

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (attachment URLs live here)."""
        return self._server.base_url

    @property
    def api_base_url(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return self._server.api_base_url

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (also returned by ``GET /gateway/bot``)."""
        return self._server.gateway_url

    @property
    def bot(self) -> User:
        return self._core.world.bot

    @property
    def application_id(self) -> int:
        return self._core.world.application_id

    @property
    def internal_errors(self) -> list[BaseException]:
        return list(self._core.internal_errors)

    # -- world building --------------------------------------------------------------------------------

    def make_user(self, name: str, *, global_name: str | None = None, accepts_dms: bool = True) -> User:
        user = self._core.world.make_user(name, global_name=global_name)
        user.accepts_dms = accepts_dms
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        channels: Sequence[str] = ("general",),
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        shard: int | None = None,
    ) -> Guild:
        """A guild with text channels, an @everyone role, and the bot as a member with its managed role.

        ``shard``: an id that shard of the recommended count owns (for tests of a sharded bot).
        """
        count = self._core.hub.recommended_shards
        guild = self._core.world.add_guild(
            name,
            owner=owner,
            everyone_permissions=everyone_permissions,
            bot_permissions=bot_permissions,
            upload_limit=upload_limit,
            text_channels=tuple(channels),
            shard=None if shard is None else (shard, count),
        )
        self._core.hub.dispatch_guild_create(guild)
        self._core.changed()
        return guild

    def text_channel(self, guild_id: int, name: str = "general") -> Channel:
        for channel_id in self.guild(guild_id).channel_ids:
            channel = self._core.world.channels[channel_id]
            if channel.name == name and not channel.deleted:
                return channel
        raise StandInUsageError(f"guild {guild_id} has no channel #{name}")

    def add_member(self, guild_id: int, user: User, *, roles: Sequence[Role] = ()) -> Member:
        guild = self.guild(guild_id)
        member = self._core.world.add_member(guild, user, role_ids=[r.id for r in roles])
        data = {**self._core.world.member_payload(member), "guild_id": str(guild.id)}
        self._core.hub.dispatch("GUILD_MEMBER_ADD", data, guild_id=guild.id)
        self._core.changed()
        return member

    def remove_member(self, guild_id: int, user: User) -> None:
        """``user`` leaves the guild (or is kicked); dispatches GUILD_MEMBER_REMOVE."""
        guild = self.guild(guild_id)
        if guild.members.pop(user.id, None) is None:
            raise StandInUsageError(f"{user.username} is not a member of {guild.name}")
        data = {"guild_id": str(guild.id), "user": user.to_payload()}
        self._core.hub.dispatch("GUILD_MEMBER_REMOVE", data, guild_id=guild.id)
        self._core.changed()

    def add_role(self, guild_id: int, name: str, permissions: int = 0, *, mentionable: bool = False) -> Role:
        guild = self.guild(guild_id)
        role = self._core.world.add_role(guild, name, permissions, mentionable=mentionable)
        self._core.hub.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_payload()}, guild_id=guild.id
        )
        self._core.changed()
        return role

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        type: ChannelType = ChannelType.GUILD_TEXT,
        topic: str | None = None,
    ) -> Channel:
        channel = self._core.world.add_channel(self.guild(guild_id), name, type=type, topic=topic)
        self._core.channel_event("CHANNEL_CREATE", channel)
        return channel

    def delete_channel(self, channel_id: int) -> None:
        channel = self.channel(channel_id)
        channel.deleted = True
        self._core.channel_event("CHANNEL_DELETE", channel)

    def dm_channel(self, user: User) -> Channel:
        return self._core.world.dm_channel(user)

    def add_custom_emoji(self, guild_id: int, name: str, *, animated: bool = False) -> str:
        """Register a guild emoji; returns its ``name:id`` form (usable in reactions)."""
        guild = self.guild(guild_id)
        emoji_id = self._core.world.snowflakes.next()
        guild.emojis[emoji_id] = Emoji(name=name, id=emoji_id, animated=animated)
        emojis = [e.guild_payload() for e in guild.emojis.values()]
        self._core.hub.dispatch(
            "GUILD_EMOJIS_UPDATE", {"guild_id": str(guild.id), "emojis": emojis}, guild_id=guild.id
        )
        self._core.changed()
        return f"{name}:{emoji_id}"

    # -- permissions and limits ---------------------------------------------------------------------------

    def set_bot_permissions(self, channel_id: int, permissions: int) -> None:
        """Make the bot's effective permissions in a channel exactly ``permissions`` (member overwrite)."""
        channel = self._guild_channel(channel_id)
        overwrite = channel.overwrite_for(1, self.bot.id)
        overwrite.allow = permissions & ALL_PERMISSIONS
        overwrite.deny = ALL_PERMISSIONS & ~permissions
        self._core.channel_event("CHANNEL_UPDATE", channel)

    def deny_bot_permissions(self, channel_id: int, permissions: int) -> None:
        """Deny specific bits to the bot in a channel, keeping everything else."""
        channel = self._guild_channel(channel_id)
        overwrite = channel.overwrite_for(1, self.bot.id)
        overwrite.deny |= permissions
        overwrite.allow &= ~permissions
        self._core.channel_event("CHANNEL_UPDATE", channel)

    def permissions_for(self, channel_id: int, user: User | None = None) -> int:
        """Effective permissions (default: the bot's) as Discord computes them."""
        return self._core.world.permissions_for(self._guild_channel(channel_id), (user or self.bot).id)

    def set_upload_limit(self, guild_id: int, limit_bytes: int) -> None:
        """Per-file upload limit of a guild (413/40005 above it); also ``attachment_size_limit``."""
        self.guild(guild_id).upload_limit = limit_bytes

    def _guild_channel(self, channel_id: int) -> Channel:
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            raise StandInUsageError("permissions apply to guild channels only")
        return channel

    # -- clock -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self._core.clock.now()

    def advance_clock(self, seconds: float) -> None:
        """Move the stand-in's clock forward (interaction deadlines, token expiry, snowflakes)."""
        self._core.clock.advance(seconds)
        self._core.changed()

    # -- gateway -------------------------------------------------------------------------------------

    @property
    def sessions(self) -> list[GatewaySession]:
        return self._core.hub.live_sessions()

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self._core.hub.live_sessions())

    async def wait_for_session(self, timeout: float = 10.0) -> GatewaySession:  # noqa: ASYNC109
        """Wait until a bot has identified (or resumed) and is connected."""

        def probe() -> GatewaySession | None:
            return next((s for s in self._core.hub.live_sessions() if s.connection is not None), None)

        return await self._core.recorder.notifier.wait_until(probe, timeout, "a connected gateway session")

    async def drop_gateway(self, close_code: int | None = None) -> int:
        """Cut every gateway connection (abruptly, or with ``close_code``); sessions stay resumable."""
        return await self._core.hub.drop(close_code)

    async def take_gateway_down(self) -> int:
        """A gateway outage: cut every connection and refuse new ones until :meth:`bring_gateway_up`.

        Returns how many connections were cut."""
        self._core.hub.refusing = True
        return await self._core.hub.drop()

    def bring_gateway_up(self) -> None:
        self._core.hub.refusing = False

    @property
    def refused_gateway_connections(self) -> int:
        return self._core.hub.refused

    def request_reconnect(self) -> None:
        self._core.hub.request_reconnect()

    def invalidate_session(self, *, resumable: bool = False) -> None:
        self._core.hub.invalidate_sessions(resumable=resumable)

    # -- inspection ---------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._core.recorder.requests

    @property
    def gateway_frames(self) -> list[GatewayFrame]:
        return self._core.recorder.frames

    @property
    def events(self) -> list[RecordedRequest | GatewayFrame]:
        """Requests and gateway frames in the order they happened."""
        return list(self._core.recorder.items)

    def messages_in(self, channel_id: int, *, include_ephemeral: bool = True) -> list[dict[str, Any]]:
        """Current state of the channel's live messages, oldest first."""
        world = self._core.world
        result = []
        for message_id in world.channel_messages.get(channel_id, []):
            message = world.messages[message_id]
            if message.deleted or (message.ephemeral and not include_ephemeral):
                continue
            result.append(self._core.render(message))
        return result

    def message(self, message_id: int) -> dict[str, Any]:
        """Current state of a message (KeyError when unknown or deleted)."""
        message = self._core.world.live_message(message_id)
        if message is None:
            raise KeyError(f"no live message {message_id}")
        return self._core.render(message)

    def attachment_bytes(self, attachment: dict[str, Any] | int | str) -> bytes:
        """Bytes of an attachment given its payload, id or URL."""
        if isinstance(attachment, dict):
            attachment_id = int(attachment["id"])
        elif isinstance(attachment, str):
            match = re.search(r"/attachments/\d+/(\d+)/", attachment)
            if match is None:
                raise StandInUsageError(f"not a stand-in attachment URL: {attachment}")
            attachment_id = int(match.group(1))
        else:
            attachment_id = attachment
        stored = self._core.world.attachments.get(attachment_id)
        if stored is None:
            raise KeyError(f"no attachment {attachment_id}")
        return stored.data

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered application commands of a scope (``None`` = global), as Discord returns them."""
        return [c.to_payload() for c in self._core.commands.commands(guild_id)]

    # -- waiting ---------------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest | GatewayFrame], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        since: int = 0,
    ) -> RecordedRequest | GatewayFrame:
        """First recorded request/gateway frame (from ``events[since:]``) matching ``predicate``."""
        return await self._core.recorder.wait_for(predicate, timeout=timeout, since=since)

    async def wait_until(self, condition: Callable[[], T | None], *, timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``condition()`` returns something other than None/False.

        The condition is re-checked whenever the stand-in's state changes (a request, a gateway
        frame, a message, the clock), so it should depend on stand-in state, not on the bot's cache.
        """

        def probe() -> T | None:
            result = condition()
            return None if result is False else result

        return await self._core.recorder.notifier.wait_until(probe, timeout, "the condition")

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """First live message in the channel (current state) that satisfies ``predicate``."""

        def probe() -> dict[str, Any] | None:
            return next((m for m in self.messages_in(channel_id) if predicate is None or predicate(m)), None)

        return await self._core.recorder.notifier.wait_until(
            probe, timeout, f"a message in channel {channel_id}"
        )

    # -- fault injection ----------------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        times: int = 1,
        body: dict[str, Any] | None = None,
        *,
        retry_after: float = 0.05,
    ) -> FaultRule:
        """The next ``times`` matching requests get ``status`` (``re.search`` on the path below /api/v10)."""
        rule = FaultRule(
            method.upper(), re.compile(path_regex), times, status=status, body=body, retry_after=retry_after
        )
        self._core.recorder.faults.append(rule)
        return rule

    def inject_disconnect(self, method: str, path_regex: str, times: int = 1) -> FaultRule:
        """The next ``times`` matching requests are read, then the TCP connection is dropped unanswered."""
        rule = FaultRule(method.upper(), re.compile(path_regex), times, disconnect=True)
        self._core.recorder.faults.append(rule)
        return rule

    def inject_fault_after(
        self,
        method: str,
        path_regex: str,
        *,
        status: int | None = 500,
        disconnect: bool = False,
        hang_s: float = 0.0,
        times: int = 1,
        on_hit: Callable[[RecordedRequest], None] | None = None,
        when: Callable[[Any], bool] | None = None,
    ) -> FaultRule:
        """The next ``times`` matching requests *take effect* (the message is created), and then:
        the answer is ``status`` (a 5xx after storing), or the connection drops (``disconnect``),
        or — with ``status=None`` — it only comes ``hang_s`` seconds late (a client time-out).
        ``on_hit`` runs once the effect happened, before anything is answered; ``when`` picks the
        requests by their JSON body."""
        rule = FaultRule(
            method.upper(), re.compile(path_regex), times, status=None if disconnect else status,
            disconnect=disconnect, after=True, hang_s=hang_s, on_hit=on_hit, when=when,
        )  # fmt: skip
        self._core.recorder.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Forget every injected fault that has not been used up."""
        self._core.recorder.faults.clear()
