"""Small helpers for end-to-end assertions: what a user would see."""

from __future__ import annotations

import asyncio
import io
import re
import socket
from typing import Any

import aiohttp
import soundfile as sf
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import World
from tests.standin import InteractionHandle, User

RESULT_TIMEOUT_S = 90.0


async def ambient(world: World, user: User, **options: Any) -> InteractionHandle:
    return await world.standin.invoke_command(
        "ambient", options, user=user, guild_id=world.guild.id, channel_id=world.channel_id
    )


async def result_of(
    world: World,
    handle: InteractionHandle,
    timeout: float = RESULT_TIMEOUT_S,  # noqa: ASYNC109
) -> dict[str, Any]:
    """A command's result: its status message (``@original``) once it became the result, or a
    follow-up where the status could not become it (one message per job either way)."""

    def found() -> dict[str, Any] | None:
        original = handle.original
        if original is not None and is_result(original):
            return original
        return next((m for m in handle.followups if is_result(m)), None)

    return await world.standin.wait_until(found, timeout=timeout)


async def status_gone(world: World, handle: InteractionHandle, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until no status line of the command is left: its ``@original`` became the result or
    was deleted (one message per job: the result alone stays in the channel)."""
    await world.standin.wait_until(
        lambda: handle.original is None or is_result(handle.original), timeout=timeout
    )


def is_result_post(body: Any) -> bool:
    """A result (not a status line): its embed carries the job's marker."""
    embeds = (body or {}).get("embeds") or []
    return any(((e.get("footer") or {}).get("text") or "").startswith("Job #") for e in embeds)


def is_result(message: dict[str, Any]) -> bool:
    return bool(message.get("attachments")) and any(
        (e.get("footer") or {}).get("text", "").startswith("Job #") for e in message.get("embeds", [])
    )


def mp3s(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The sound files of a result (a result also carries its spectrogram picture)."""
    return [a for a in message["attachments"] if a["filename"].endswith(".mp3")]


def picture(world: World, message: dict[str, Any]) -> Image.Image:
    """The spectrogram the result card shows (an upload the embed uses, so Discord shows it there)."""
    url = message["embeds"][0]["image"]["url"]
    assert url.endswith("/spectrogram.png"), url
    return Image.open(io.BytesIO(world.standin.attachment_bytes(url)))


def job_id_of(message: dict[str, Any]) -> int:
    footer = next(e["footer"]["text"] for e in message["embeds"] if e.get("footer"))
    match = re.match(r"Job #(\d+)", footer)
    assert match, footer
    return int(match.group(1))


def field(message: dict[str, Any], name: str) -> str:
    for embed in message["embeds"]:
        for item in embed.get("fields", []):
            if item["name"] == name:
                return item["value"]
    raise KeyError(name)


def asked_by(message: dict[str, Any]) -> str:
    """Who asked for a result, as its compact card shows it (a mention that never pings)."""
    match = re.search(r"<@\d+>$", message["embeds"][0].get("description") or "")
    assert match, message["embeds"][0]
    return match.group(0)


async def details(world: World, message: dict[str, Any], user: User | None = None) -> dict[str, Any]:
    """What the result's **Details** button answers privately: the card's full parameters (read
    them with :func:`field`)."""
    custom_id = f"ambientgen:details:{job_id_of(message)}"
    await rerollable(world, message)  # recorded as the job's result (its 🔁 comes after that)
    handle = await world.standin.click_button(int(message["id"]), custom_id, user=user or world.alice)
    response = await handle.response(timeout=30)
    assert response.ephemeral and response.type == 4, response
    assert handle.original is not None
    return handle.original


def decode(world: World, attachment: dict[str, Any]) -> tuple[int, int]:
    """(frames, sample rate) of an attached MP3, decoded as a player would."""
    data = world.standin.attachment_bytes(attachment)
    with sf.SoundFile(io.BytesIO(data)) as audio:
        return audio.frames, audio.samplerate


async def result_for_job(world: World, job_id: int, timeout: float = RESULT_TIMEOUT_S) -> dict[str, Any]:  # noqa: ASYNC109
    return await world.standin.wait_for_message(
        world.channel_id, lambda m: is_result(m) and job_id_of(m) == job_id, timeout=timeout
    )


def results(world: World) -> list[dict[str, Any]]:
    return [m for m in world.standin.messages_in(world.channel_id) if is_result(m)]


async def rerollable(world: World, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:  # noqa: ASYNC109
    """The result message once the bot has put its own 🔁 on it: what a user clicks to reroll."""
    message_id = int(message["id"])

    def ready() -> dict[str, Any] | None:
        current = world.standin.message(message_id)
        mine = [r for r in current.get("reactions", []) if r["me"] and r["emoji"]["name"] == "🔁"]
        return current if mine else None

    return await world.standin.wait_until(ready, timeout=timeout)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a process's ``[metrics] port``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample of a scrape (0 when absent, as a counter nothing has counted yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Endpoints:
    """``/metrics``, ``/healthz`` and ``/readyz`` of a bot or worker process on ``port``."""

    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text()

    async def samples(self) -> tuple[str, Samples]:
        """The text of ``/metrics`` and its samples, parsed by prometheus_client's own parser."""
        status, text = await self.get("/metrics")
        assert status == 200, text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        return text, samples

    async def until(
        self,
        path: str,
        status: int,
        body: str | None = None,
        timeout: float = 60.0,  # noqa: ASYNC109
    ) -> str:
        """The body of ``path`` once it answers ``status`` (and ``body``, when given)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got, text = await self.get(path)
            if got == status and body in (None, text):
                return text
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{path} still answers {got} ({text.strip()!r}), not {status} {body!r}")
            # Another process's state, seen only through HTTP: there is no event to wait on.
            await asyncio.sleep(0.1)
