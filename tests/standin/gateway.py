"""The gateway websocket: HELLO/IDENTIFY/READY, heartbeats, RESUME replay, intents, zlib-stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .recording import GatewayFrame, Recorder
from .state import Guild, World

# Intent bits (gateway docs, "List of Intents").
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_EXPRESSIONS = 1 << 3
GUILD_VOICE_STATES = 1 << 7
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
GUILD_MESSAGE_TYPING = 1 << 11
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
DIRECT_MESSAGE_TYPING = 1 << 14
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
KNOWN_INTENTS = (1 << 26) - 1

# Event -> (intent when in a guild, intent in DMs); events not listed need no intent.
_EVENT_INTENTS: dict[str, tuple[int, int]] = {
    **{
        e: (GUILDS, GUILDS)
        for e in (
            "GUILD_CREATE",
            "GUILD_UPDATE",
            "GUILD_DELETE",
            "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE",
            "GUILD_ROLE_DELETE",
            "CHANNEL_CREATE",
            "CHANNEL_UPDATE",
            "CHANNEL_DELETE",
        )
    },
    "GUILD_EMOJIS_UPDATE": (GUILD_EXPRESSIONS, GUILD_EXPRESSIONS),
    **{
        e: (GUILD_MEMBERS, GUILD_MEMBERS)
        for e in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE")
    },
    **{e: (GUILD_MESSAGES, DIRECT_MESSAGES) for e in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE")},
    **{
        e: (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS)
        for e in (
            "MESSAGE_REACTION_ADD",
            "MESSAGE_REACTION_REMOVE",
            "MESSAGE_REACTION_REMOVE_ALL",
            "MESSAGE_REACTION_REMOVE_EMOJI",
        )
    },
    "TYPING_START": (GUILD_MESSAGE_TYPING, DIRECT_MESSAGE_TYPING),
    "VOICE_STATE_UPDATE": (GUILD_VOICE_STATES, GUILD_VOICE_STATES),
}

# Application flags Discord sets when a privileged intent is enabled for an unverified app.
_LIMITED_FLAGS = {GUILD_PRESENCES: 1 << 13, GUILD_MEMBERS: 1 << 15, MESSAGE_CONTENT: 1 << 19}


@dataclass
class GatewaySession:
    id: str
    intents: int
    shard: tuple[int, int]
    shard_sent: bool
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    connection: GatewayConnection | None = None
    invalidated: bool = False
    resumes: int = 0

    def handles_guild(self, guild_id: int | None) -> bool:
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id


class GatewayConnection:
    """One websocket; frames go through a queue so one writer owns the shared zlib context."""

    def __init__(
        self, connection_id: int, ws: web.WebSocketResponse, request: web.Request, *, compress: bool
    ) -> None:
        self.id = connection_id
        self.ws = ws
        self.request = request
        self.path = request.path
        # Transport compression shares one deflate context per connection (zlib-stream).
        self.compressor = zlib.compressobj() if compress else None
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.session: GatewaySession | None = None
        self.closed_by_server = False
        self.writer: asyncio.Task[None] | None = None

    def enqueue(self, frame: dict[str, Any]) -> None:
        self.queue.put_nowait(frame)

    def encode(self, frame: dict[str, Any]) -> bytes | str:
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
        if self.compressor is None:
            return text
        # Z_SYNC_FLUSH ends each message with 00 00 ff ff, which clients use as the boundary.
        return self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a network failure)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class GatewayHub:
    """All gateway sessions and connections of one stand-in."""

    def __init__(
        self,
        world: World,
        recorder: Recorder,
        *,
        token: str,
        heartbeat_interval_ms: int,
        privileged_intents: int,
        internal_errors: list[BaseException],
    ) -> None:
        self._world = world
        self._internal_errors = internal_errors
        self._recorder = recorder
        self._token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents = privileged_intents
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: dict[int, GatewayConnection] = {}
        self._next_connection = 1
        self.refusing = False
        """While set, new gateway connections are refused (503 before the WebSocket handshake)."""
        self.refused = 0
        """Connections refused so far."""
        self.url = ""
        self.resume_url = ""
        #: What ``GET /gateway/bot`` recommends: shards, and identifies allowed at once.
        self.recommended_shards = 1
        self.max_concurrency = 1
        #: Handles op 4 (voice state update) of a session; the voice stand-in sets it.
        self.on_voice_request: Callable[[GatewaySession, Any], Awaitable[None]] | None = None

    # -- public operations ---------------------------------------------------------------------

    @property
    def application_flags(self) -> int:
        flags = 0
        for intent, flag in _LIMITED_FLAGS.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.invalidated]

    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        user_content: bool = False,
        mentions_bot: bool = False,
    ) -> int:
        """Send a DISPATCH to every live session that routes and subscribes to it.

        ``user_content`` marks message payloads written by someone other than the bot: they
        are blanked for sessions without MESSAGE_CONTENT unless the bot is mentioned or in DMs.
        Returns the number of sessions the event was queued for.
        """
        guild_intent, dm_intent = _EVENT_INTENTS.get(event, (0, 0))
        needed = guild_intent if guild_id is not None else dm_intent
        count = 0
        for session in self.live_sessions():
            if not session.handles_guild(guild_id) or (needed and not session.intents & needed):
                continue
            payload = data
            if (
                user_content
                and guild_id is not None
                and not mentions_bot
                and not session.intents & MESSAGE_CONTENT
            ):
                payload = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            self._send_dispatch(session, event, payload)
            count += 1
        return count

    def send_to(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        """A DISPATCH for one session only (e.g. its VOICE_SERVER_UPDATE)."""
        self._send_dispatch(session, event, data)

    def dispatch_guild_create(self, guild: Guild) -> None:
        """GUILD_CREATE for a guild the bot joined while connected (member list per session intents)."""
        for session in self.live_sessions():
            if session.intents & GUILDS and session.handles_guild(guild.id):
                self._send_dispatch(session, "GUILD_CREATE", self.guild_create_payload(guild, session))

    async def drop(self, close_code: int | None = None) -> int:
        """Disconnect every open connection: abruptly, or with a close frame when ``close_code``."""
        connections = list(self.connections.values())
        for connection in connections:
            connection.closed_by_server = True
            if close_code is None:
                connection.abort()
            else:
                await connection.ws.close(code=close_code, message=b"stand-in drop")
        return len(connections)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connection."""
        for connection in self.connections.values():
            connection.enqueue({"op": 7, "d": None, "s": None, "t": None})

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; a non-resumable one is forgotten."""
        for connection in self.connections.values():
            connection.enqueue({"op": 9, "d": resumable, "s": None, "t": None})
            if connection.session is not None and not resumable:
                connection.session.invalidated = True

    async def close_all(self) -> None:
        for connection in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"stand-in shutting down")

    # -- websocket handling -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:  # the gateway is down: the handshake fails, as during a Discord outage
            self.refused += 1
            self._recorder.notifier.notify()
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=0, autoclose=True, timeout=2.0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        connection = GatewayConnection(self._next_connection, ws, request, compress=compress == "zlib-stream")
        self._next_connection += 1
        self.connections[connection.id] = connection
        connection.writer = asyncio.create_task(self._writer(connection))
        self._record(connection, "open", {"path": request.path, "query": dict(request.query)})
        try:
            if request.query.get("v") != "10":
                return await self._close(connection, 4012, "Invalid API version")
            if request.query.get("encoding", "json") != "json":
                return await self._close(connection, 4002, "Decode error: only JSON encoding is emulated")
            if compress not in (None, "zlib-stream"):
                return await self._close(connection, 4000, f"Unsupported compression {compress}")
            connection.enqueue(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            )
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    return await self._close(connection, 4002, "Decode error")
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    return await self._close(connection, 4002, "Decode error")
                if not isinstance(payload, dict):
                    return await self._close(connection, 4002, "Decode error")
                self._record(connection, "recv", payload)
                try:
                    keep_open = await self._on_payload(connection, payload)
                except Exception as exc:  # a stand-in bug: close like Discord's "unknown error"
                    self._internal_errors.append(exc)
                    return await self._close(connection, 4000, "Unknown error")
                if not keep_open:
                    break
        finally:
            await self._disconnected(connection)
        return ws

    async def _on_payload(self, connection: GatewayConnection, payload: dict[str, Any]) -> bool:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            connection.enqueue({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            return await self._identify(connection, data)
        elif op == 6:
            return await self._resume(connection, data)
        elif op in (3, 4, 8, 31):
            if connection.session is None:
                await self._close(connection, 4003, "Not authenticated")
                return False
            if op == 8:
                self._request_members(connection.session, data)
            if op == 4 and self.on_voice_request is not None:
                await self.on_voice_request(connection.session, data)
        else:
            await self._close(connection, 4001, "Unknown opcode")
            return False
        return True

    async def _identify(self, connection: GatewayConnection, data: Any) -> bool:
        if connection.session is not None:
            await self._close(connection, 4005, "Already authenticated")
            return False
        if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
            await self._close(connection, 4002, "Decode error")
            return False
        if data.get("token") != self._token:
            await self._close(connection, 4004, "Authentication failed")
            return False
        intents = data.get("intents")
        if (
            isinstance(intents, bool)
            or not isinstance(intents, int)
            or intents < 0
            or intents & ~KNOWN_INTENTS
        ):
            await self._close(connection, 4013, "Invalid intent(s)")
            return False
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await self._close(connection, 4014, "Disallowed intent(s)")
            return False
        shard = data.get("shard")
        shard_sent = shard is not None
        if shard is None:
            shard = [0, 1]
        if (
            not isinstance(shard, list)
            or len(shard) != 2
            or not all(isinstance(x, int) for x in shard)
            or not 0 <= shard[0] < shard[1]
        ):
            await self._close(connection, 4010, "Invalid shard")
            return False
        # A new identify for a shard replaces whichever session held it before.
        for old in self.live_sessions():
            if old.shard == (shard[0], shard[1]):
                old.invalidated = True
        session = GatewaySession(
            id=secrets.token_hex(16), intents=intents, shard=(shard[0], shard[1]), shard_sent=shard_sent
        )
        self.sessions[session.id] = session
        self._attach(connection, session)
        self._send_dispatch(session, "READY", self._ready_payload(session))
        if intents & GUILDS:
            for guild in self._world.guilds.values():
                if self._world.bot.id in guild.members and session.handles_guild(guild.id):
                    self._send_dispatch(session, "GUILD_CREATE", self.guild_create_payload(guild, session))
        self._recorder.notifier.notify()
        return True

    async def _resume(self, connection: GatewayConnection, data: Any) -> bool:
        if connection.session is not None:
            await self._close(connection, 4005, "Already authenticated")
            return False
        if not isinstance(data, dict):
            await self._close(connection, 4002, "Decode error")
            return False
        if data.get("token") != self._token:
            await self._close(connection, 4004, "Authentication failed")
            return False
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.invalidated:
            connection.enqueue({"op": 9, "d": False, "s": None, "t": None})
            return True
        seq = data.get("seq")
        if seq is not None and (not isinstance(seq, int) or seq > session.seq):
            await self._close(connection, 4007, "Invalid seq")
            return False
        if session.connection is not None and session.connection is not connection:
            # The old socket is a zombie from the server's point of view; cut it.
            session.connection.abort()
            session.connection.session = None
        self._attach(connection, session)
        session.resumes += 1
        for frame in session.buffer:
            if frame["s"] > (seq or 0):
                connection.enqueue(frame)
        self._send_dispatch(session, "RESUMED", {})
        self._recorder.notifier.notify()
        return True

    def _request_members(self, session: GatewaySession, data: Any) -> None:
        if not isinstance(data, dict) or not str(data.get("guild_id", "")).isdigit():
            return
        guild = self._world.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        members = list(guild.members.values())
        not_found: list[str] = []
        user_ids = data.get("user_ids")
        if user_ids is not None:
            wanted = [int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])][:100]
            not_found = [str(u) for u in wanted if u not in guild.members]
            members = [guild.members[u] for u in wanted if u in guild.members]
        else:
            query = str(data.get("query", "")).lower()
            limit = int(data.get("limit", 0) or 0)
            if query:
                members = [
                    m for m in members if self._world.users[m.user_id].username.lower().startswith(query)
                ]
                members = members[: min(limit or 100, 100)]
            elif not session.intents & GUILD_MEMBERS:
                # Listing everyone needs GUILD_MEMBERS; without it the answer is empty.
                members = []
            elif limit:
                members = members[:limit]
        chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [self._world.member_payload(m) for m in chunk],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if not_found and index == 0:
                payload["not_found"] = not_found
            if data.get("nonce") is not None:
                payload["nonce"] = data["nonce"]
            self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", payload)

    # -- payloads ---------------------------------------------------------------------------------

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        world = self._world
        user = world.bot.to_payload()
        user.update(verified=True, mfa_enabled=False, email=None, flags=0)
        payload: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [
                {"id": str(g.id), "unavailable": True}
                for g in world.guilds.values()
                if world.bot.id in g.members and session.handles_guild(g.id)
            ],
            "session_id": session.id,
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(world.application_id), "flags": self.application_flags},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "session_type": "normal",
            "auth": {},
            "_trace": ['["discord-stand-in",{"micros":0}]'],
        }
        if session.shard_sent:
            payload["shard"] = list(session.shard)
        return payload

    def guild_create_payload(self, guild: Guild, session: GatewaySession) -> dict[str, Any]:
        # Without GUILD_PRESENCES Discord only includes the bot's own member (and voice users).
        if session.intents & GUILD_PRESENCES:
            members = list(guild.members.values())
        else:
            members = [guild.members[self._world.bot.id]]
        return self._world.guild_payload(guild, gateway=True, members=members)

    # -- plumbing -----------------------------------------------------------------------------

    def _attach(self, connection: GatewayConnection, session: GatewaySession) -> None:
        connection.session = session
        session.connection = connection

    def _send_dispatch(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.connection is not None:
            session.connection.enqueue(frame)

    async def _writer(self, connection: GatewayConnection) -> None:
        while True:
            frame = await connection.queue.get()
            if frame is None or connection.ws.closed:
                return
            try:
                encoded = connection.encode(frame)
                if isinstance(encoded, bytes):
                    await connection.ws.send_bytes(encoded)
                else:
                    await connection.ws.send_str(encoded)
            except (ConnectionError, RuntimeError):
                return
            self._record(connection, "send", frame)

    async def _close(self, connection: GatewayConnection, code: int, reason: str) -> web.WebSocketResponse:
        # Let queued frames (e.g. HELLO) go out first so clients see the same order as on Discord.
        connection.closed_by_server = True
        connection.queue.put_nowait(None)
        if connection.writer is not None:
            await connection.writer
        await connection.ws.close(code=code, message=reason.encode())
        self._record(connection, "close", {"code": code, "reason": reason})
        return connection.ws

    async def _disconnected(self, connection: GatewayConnection) -> None:
        self.connections.pop(connection.id, None)
        connection.queue.put_nowait(None)
        if connection.writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await connection.writer
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            # Closing with 1000/1001 ends the session; any other close keeps it resumable.
            if connection.ws.close_code in (1000, 1001) and not connection.closed_by_server:
                session.invalidated = True
        self._record(connection, "disconnect", {"code": connection.ws.close_code})
        self._recorder.notifier.notify()

    def _record(self, connection: GatewayConnection, direction: str, payload: dict[str, Any]) -> None:
        self._recorder.add(
            GatewayFrame(
                at=self._world.clock.now(),
                direction=direction,
                connection_id=connection.id,
                op=payload.get("op"),
                t=payload.get("t"),
                s=payload.get("s"),
                d=payload.get("d", payload if direction in ("open", "close", "disconnect") else None),
            )
        )
