"""Self-tests of the voice stand-in: an unmodified in-process discord.py voice client against it."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import numpy as np
import pytest
from discord.ext import commands
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

from . import Channel, DiscordStandIn, Guild, Perm, User
from .test_standin import TOKEN, discord, running
from .voice.capture import ensure_opus
from .voice.rtp import BadPacket, decrypt, discovery_response, is_discovery_request, parse_rtp


@dataclass
class VoiceWorld:
    guild: Guild
    lounge: Channel
    alice: User


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn(token=TOKEN) as instance:
        yield instance


@pytest.fixture
def world(standin: DiscordStandIn) -> VoiceWorld:
    guild = standin.add_guild("Voice Guild")
    alice = standin.make_user("alice")
    standin.add_member(guild.id, alice)
    lounge = standin.add_voice_channel(guild.id, "Lounge")
    return VoiceWorld(guild, lounge, alice)


def voice_bot(standin: DiscordStandIn) -> commands.Bot:
    """A default-intents bot whose HTTP connector trusts the stand-in's voice certificate."""
    return commands.Bot(
        command_prefix="!",
        intents=discord.Intents.default(),
        guild_ready_timeout=0.05,
        connector=aiohttp.TCPConnector(ssl=standin.voice_client_ssl()),
    )


class Tone(discord.AudioSource):
    """A 440 Hz sine, 20 ms per read, for ``frames`` frames."""

    def __init__(self, frames: int) -> None:
        self.left = frames
        self.phase = 0

    def read(self) -> bytes:
        if self.left == 0:
            return b""
        self.left -= 1
        t = (self.phase + np.arange(960)) / 48_000
        self.phase += 960
        mono = np.round(np.sin(2 * np.pi * 440 * t) * 0.5 * 32767).astype("<i2")
        return np.repeat(mono, 2).tobytes()


# -- pure packet helpers --------------------------------------------------------------------------


def test_discovery_round_trip() -> None:
    request = struct.pack(">HHI64sH", 1, 70, 42, b"", 0)
    assert is_discovery_request(request)
    answer = discovery_response(request, "127.0.0.1", 5000)
    assert len(answer) == 74 and struct.unpack_from(">HHI", answer) == (2, 70, 42)
    assert answer[8:17] == b"127.0.0.1" and struct.unpack_from(">H", answer, 72)[0] == 5000


def test_rtpsize_decryption_and_refusal() -> None:
    key = bytes(range(32))
    header = bytes([0x80, 0x78]) + struct.pack(">HII", 7, 960, 1234)
    nonce = struct.pack(">I", 5)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(b"opus!", header, nonce + bytes(20), key)
    packet = parse_rtp(header + sealed + nonce)
    assert (packet.sequence, packet.timestamp, packet.ssrc) == (7, 960, 1234)
    assert decrypt(packet, key) == b"opus!"
    with pytest.raises(BadPacket):
        decrypt(packet, bytes(32))
    with pytest.raises(BadPacket):
        parse_rtp(b"\x00" * 40)


# -- end to end with discord.py ---------------------------------------------------------------------


async def test_voice_client_connects_plays_and_is_heard(standin: DiscordStandIn, world: VoiceWorld) -> None:
    ensure_opus()
    standin.join_voice(world.alice, world.lounge.id)
    bot = voice_bot(standin)
    async with running(standin, bot):
        guild = bot.get_guild(world.guild.id)
        assert guild is not None
        # The guild arrived with its voice states and the member sitting in voice.
        channel = guild.get_channel(world.lounge.id)
        assert isinstance(channel, discord.VoiceChannel)
        assert [m.id for m in channel.members] == [world.alice.id]
        client = await channel.connect(self_deaf=True, timeout=10)
        assert standin.voice_channel_of(world.guild.id) == world.lounge.id
        assert standin.voice_requests[-1].self_deaf
        connection = standin.voice_connection(world.guild.id)
        assert connection is not None and connection.mode == "aead_xchacha20_poly1305_rtpsize"
        done = asyncio.Event()
        client.play(Tone(50), after=lambda _: bot.loop.call_soon_threadsafe(done.set))
        await asyncio.wait_for(done.wait(), 10)
        capture = await standin.wait_for_voice_frames(world.guild.id, 50)
        assert standin.rejected_voice_packets == 0
        sequences = [f.sequence for f in capture.frames]
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
        audio = capture.audio(5, 45)[:, 0]
        spectrum = np.abs(np.fft.rfft(audio))
        assert abs(np.argmax(spectrum) * 48_000 / audio.shape[0] - 440) < 5
        assert 0.3 < np.sqrt(np.mean(audio**2)) < 0.4  # a 0.5 sine: 0.354 RMS
        assert 1 in connection.speaking
        await client.disconnect()
        await standin.wait_until(lambda: standin.voice_channel_of(world.guild.id) is None)


async def test_voice_states_reach_the_bot_and_connect_needs_the_permission(
    standin: DiscordStandIn, world: VoiceWorld
) -> None:
    bot = voice_bot(standin)
    changes: asyncio.Queue[tuple[int, int | None]] = asyncio.Queue()

    async def on_voice_state_update(
        member: discord.Member, before: object, after: discord.VoiceState
    ) -> None:
        changes.put_nowait((member.id, after.channel.id if after.channel else None))

    bot.add_listener(on_voice_state_update)
    async with running(standin, bot):
        standin.join_voice(world.alice, world.lounge.id)
        assert await asyncio.wait_for(changes.get(), 5) == (world.alice.id, world.lounge.id)
        standin.leave_voice(world.alice, world.guild.id)
        assert await asyncio.wait_for(changes.get(), 5) == (world.alice.id, None)
        standin.deny_bot_permissions(world.lounge.id, Perm.CONNECT)
        channel = bot.get_channel(world.lounge.id)
        assert isinstance(channel, discord.VoiceChannel)
        with pytest.raises(asyncio.TimeoutError):
            await channel.connect(timeout=0.5, reconnect=False)
        assert standin.voice_requests[0].refused
        assert standin.voice_channel_of(world.guild.id) is None


async def test_kicked_bot_is_told(standin: DiscordStandIn, world: VoiceWorld) -> None:
    standin.join_voice(world.alice, world.lounge.id)
    bot = voice_bot(standin)
    left = asyncio.Event()

    async def on_voice_state_update(
        member: discord.Member, before: object, after: discord.VoiceState
    ) -> None:
        if member.id == standin.bot.id and after.channel is None:
            left.set()

    bot.add_listener(on_voice_state_update)
    async with running(standin, bot):
        channel = bot.get_channel(world.lounge.id)
        assert isinstance(channel, discord.VoiceChannel)
        client = await channel.connect(timeout=10)
        await standin.kick_bot_voice(world.guild.id)
        await asyncio.wait_for(left.wait(), 5)
        assert standin.voice_channel_of(world.guild.id) is None
        await standin.wait_until(lambda: standin.voice_connection(world.guild.id) is None)
        assert not client.is_connected()


async def test_a_moved_bot_keeps_its_connection(standin: DiscordStandIn, world: VoiceWorld) -> None:
    patio = standin.add_voice_channel(world.guild.id, "Patio")
    bot = voice_bot(standin)
    moved = asyncio.Event()

    async def on_voice_state_update(
        member: discord.Member, before: object, after: discord.VoiceState
    ) -> None:
        if member.id == standin.bot.id and after.channel is not None and after.channel.id == patio.id:
            moved.set()

    bot.add_listener(on_voice_state_update)
    async with running(standin, bot):
        channel = bot.get_channel(world.lounge.id)
        assert isinstance(channel, discord.VoiceChannel)
        client = await channel.connect(timeout=10)
        standin.move_bot_voice(world.guild.id, patio.id)
        await asyncio.wait_for(moved.wait(), 5)
        assert client.is_connected() and client.channel.id == patio.id
        assert standin.voice_channel_of(world.guild.id) == patio.id
        await client.disconnect()
