"""The voice server: the voice gateway (websocket over TLS) and the UDP socket audio arrives on.

Protocol as discord.py 2.7 speaks it (voice gateway v8): HELLO, IDENTIFY → READY (ssrc, UDP
address, encryption modes), UDP IP discovery, SELECT_PROTOCOL → SESSION_DESCRIPTION (secret
key, ``dave_protocol_version: 0``), heartbeats, SPEAKING, RESUME. Audio packets are RTP,
encrypted with ``aead_xchacha20_poly1305_rtpsize``; each is decrypted and Opus-decoded into
the guild's :class:`~tests.standin.voice.capture.VoiceCapture`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .capture import VoiceCapture
from .rtp import ENCRYPTION_MODE, BadPacket, decrypt, discovery_response, is_discovery_request, parse_rtp
from .tls import TestAuthority

HOST = "127.0.0.1"
HEARTBEAT_INTERVAL_MS = 13_750


@dataclass
class VoiceConnection:
    """One voice gateway session of the bot in one guild."""

    guild_id: int
    user_id: int
    session_id: str
    token: str
    ws: web.WebSocketResponse
    ssrc: int = 0
    secret_key: bytes = b""
    mode: str = ""
    seq: int = 0
    speaking: list[int] = field(default_factory=list)
    #: Opcodes received, in order (for tests of the handshake).
    received: list[int] = field(default_factory=list)


class VoiceServer:
    """TLS voice gateway + UDP receiver on loopback; tokens come from the main gateway's op 4."""

    def __init__(
        self, authority: TestAuthority, *, notify: Callable[[], None], internal_errors: list[BaseException]
    ) -> None:
        self._authority = authority
        self._notify = notify
        self._internal_errors = internal_errors
        self.port = 0
        self.udp_port = 0
        self._runner: web.AppRunner | None = None
        self._udp: _UdpReceiver | None = None
        #: token → (guild id, gateway session id) handed out with VOICE_SERVER_UPDATE.
        self._tokens: dict[str, tuple[int, str]] = {}
        self.connections: dict[int, VoiceConnection] = {}
        """guild id → the live voice gateway connection."""
        self._by_ssrc: dict[int, VoiceConnection] = {}
        self.captures: dict[int, VoiceCapture] = {}
        #: Datagrams that were neither discovery nor decryptable audio of a known session.
        self.rejected_packets = 0
        self._next_ssrc = 1000

    @property
    def endpoint(self) -> str:
        """What VOICE_SERVER_UPDATE names: ``host:port`` (discord.py adds ``wss://``)."""
        return f"{HOST}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get("/", self._handle)])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=self._authority.server_context()).start()
        self._udp = _UdpReceiver(self, asyncio.get_running_loop())
        self.udp_port = self._udp.port

    async def stop(self) -> None:
        for connection in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"stand-in shutting down")
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def issue_token(self, guild_id: int, session_id: str) -> str:
        token = secrets.token_hex(8)
        self._tokens[token] = (guild_id, session_id)
        return token

    def capture(self, guild_id: int) -> VoiceCapture:
        return self.captures.setdefault(guild_id, VoiceCapture())

    async def disconnect(self, guild_id: int, code: int = 4014) -> None:
        """Close the guild's voice gateway from the server side (the bot was kicked or moved)."""
        connection = self.connections.pop(guild_id, None)
        if connection is not None:
            await connection.ws.close(code=code, message=b"Disconnected.")

    def forget(self, guild_id: int) -> None:
        """The bot left voice in this guild: its tokens and its connection are no longer valid."""
        self._tokens = {t: v for t, v in self._tokens.items() if v[0] != guild_id}

    # -- voice gateway ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoclose=True, timeout=2.0)
        await ws.prepare(request)
        if request.query.get("v") != "8":
            await ws.close(code=4012, message=b"Unknown protocol version")
            return ws
        connection: VoiceConnection | None = None
        await self._send(ws, None, 8, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue  # binary frames are DAVE (MLS) messages: not with protocol version 0
                payload = json.loads(message.data)
                op, data = payload.get("op"), payload.get("d") or {}
                if connection is not None:
                    connection.received.append(op)
                if op in (0, 7):
                    connection = await self._identify(ws, op, data)
                    if connection is None:
                        break
                elif op == 3:
                    await self._send(ws, connection, 6, {"t": data.get("t")})
                elif connection is None:
                    await ws.close(code=4003, message=b"Not authenticated.")
                elif op == 1:
                    if not await self._select_protocol(connection, data):
                        break
                elif op == 5:
                    connection.speaking.append(int(data.get("speaking", 0)))
                    self._notify()
                elif op not in (12, 23, 31):  # CLIENT_CONNECT and DAVE answers need no reply
                    await ws.close(code=4001, message=b"Unknown opcode.")
        except Exception as exc:  # a stand-in bug: remember it, close like "unknown error"
            self._internal_errors.append(exc)
            await ws.close(code=4000, message=b"Unknown error")
        finally:
            if connection is not None and self.connections.get(connection.guild_id) is connection:
                del self.connections[connection.guild_id]
            self._notify()
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, op: int, data: dict[str, Any]
    ) -> VoiceConnection | None:
        token = str(data.get("token"))
        issued = self._tokens.get(token)
        if (
            issued is None
            or str(issued[0]) != str(data.get("server_id"))
            or issued[1] != data.get("session_id")
        ):
            await ws.close(code=4004 if op == 0 else 4006, message=b"Authentication failed.")
            return None
        guild_id, session_id = issued
        previous = self.connections.get(guild_id)
        if op == 7:  # RESUME keeps the ssrc and key of the connection it resumes
            if previous is None or previous.token != token:
                await ws.close(code=4006, message=b"Session no longer valid.")
                return None
            previous.ws = ws
            await self._send(ws, previous, 9, None)
            return previous
        connection = VoiceConnection(guild_id, int(data.get("user_id", 0)), session_id, token, ws)
        self._next_ssrc += 1
        connection.ssrc = self._next_ssrc
        self.connections[guild_id] = connection
        self._by_ssrc[connection.ssrc] = connection
        ready = {
            "ssrc": connection.ssrc,
            "ip": HOST,
            "port": self.udp_port,
            "modes": [ENCRYPTION_MODE],
            "experiments": [],
        }
        await self._send(ws, connection, 2, ready)
        self._notify()
        return connection

    async def _select_protocol(self, connection: VoiceConnection, data: dict[str, Any]) -> bool:
        mode = (data.get("data") or {}).get("mode")
        if data.get("protocol") != "udp" or mode != ENCRYPTION_MODE:
            await connection.ws.close(code=4016, message=b"Unknown encryption mode.")
            return False
        connection.mode = mode
        connection.secret_key = secrets.token_bytes(32)
        description = {
            "mode": mode,
            "secret_key": list(connection.secret_key),
            "dave_protocol_version": 0,
            "audio_codec": "opus",
            "media_session_id": secrets.token_hex(16),
        }
        await self._send(connection.ws, connection, 4, description)
        self._notify()
        return True

    async def _send(
        self, ws: web.WebSocketResponse, connection: VoiceConnection | None, op: int, data: Any
    ) -> None:
        frame: dict[str, Any] = {"op": op, "d": data}
        if connection is not None:
            connection.seq += 1
            frame["seq"] = connection.seq
        await ws.send_str(json.dumps(frame))

    # -- UDP -------------------------------------------------------------------------------------

    def datagram(self, data: bytes, address: tuple[str, int], arrival: float) -> None:
        """One datagram (on the event loop); ``arrival`` is when the kernel received it."""
        if is_discovery_request(data):
            assert self._udp is not None
            self._udp.send(discovery_response(data, address[0], address[1]), address)
            return
        try:
            packet = parse_rtp(data)
            connection = self._by_ssrc.get(packet.ssrc)
            if connection is None or not connection.secret_key:
                raise BadPacket(f"no voice session with ssrc {packet.ssrc}")
            opus = decrypt(packet, connection.secret_key)
        except BadPacket:
            self.rejected_packets += 1
            return
        self.capture(connection.guild_id).add(
            arrival=arrival, sequence=packet.sequence, timestamp=packet.timestamp, ssrc=packet.ssrc, opus=opus
        )
        self._notify()


class _UdpReceiver:
    """The UDP socket, read by a thread of its own so that arrival times are exact.

    On Linux the kernel stamps each datagram as it arrives (``SO_TIMESTAMPNS``), so the times
    measure the sender, not how busy this process is; elsewhere the thread notes ``time.time()``.
    """

    def __init__(self, server: VoiceServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((HOST, 0))
        self._kernel_stamps = sys.platform.startswith("linux")
        if self._kernel_stamps:
            self._socket.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="standin-voice-udp", daemon=True)
        self._thread.start()

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        self._socket.sendto(data, address)

    def close(self) -> None:
        self._socket.close()  # the blocked recvmsg fails and the thread ends
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            try:
                data, ancillary, _flags, address = self._socket.recvmsg(4096, 64)
            except OSError:
                return
            arrival = time.time()
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
                    seconds, nanoseconds = struct.unpack_from("qq", payload)
                    arrival = seconds + nanoseconds / 1e9
            try:
                self._loop.call_soon_threadsafe(self._deliver, data, address, arrival)
            except RuntimeError:  # the loop is closed: the stand-in is gone
                return

    def _deliver(self, data: bytes, address: tuple[str, int], arrival: float) -> None:
        try:
            self._server.datagram(data, address, arrival)
        except Exception as exc:  # a stand-in bug must surface in the test, not vanish
            self._server._internal_errors.append(exc)


#: Linux's SO_TIMESTAMPNS (also the ancillary message type); Python does not name it.
_SO_TIMESTAMPNS = 35
