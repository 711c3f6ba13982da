"""Posting a message exactly once: one HTTP attempt, and a plain answer about what happened.

discord.py re-sends a request by itself after a 5xx answer or a reset connection — right for
edits and reads, wrong for creating a message: when Discord stored the message and then failed to
answer, the re-send posts it twice. So result posts (and failure notices) do not go through
discord.py's HTTP client: :class:`Poster` builds the request with discord.py's own payload code,
sends it once with a time limit, and says whether the message was :class:`Posted`, definitely
:class:`Refused` (nothing was stored), or whether the outcome is :class:`Unknown` — which the
caller resolves by looking for the message's marker (:func:`find_marked`) before posting again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from discord.http import Route, handle_message_parameters

from bot.metrics import metrics

log = logging.getLogger(__name__)

#: Longest Retry-After honoured for a 429 (a 429 means the request was not processed).
MAX_RATE_LIMIT_WAIT_S = 30.0
#: A 429 is retried this many times before the attempt counts as unknown... never: as refused.
RATE_LIMIT_RETRIES = 3


@dataclass(frozen=True)
class Posted:
    message_id: int


@dataclass(frozen=True)
class Refused:
    """Discord answered 4xx: the message was not stored (the answer says why)."""

    status: int
    code: int
    text: str

    @property
    def too_large(self) -> bool:
        return self.status == 413 or self.code == 40005

    @property
    def dead_token(self) -> bool:
        """The interaction token can no longer be used (post in the channel instead)."""
        return (
            self.code in (10015, 50027, 10062)
            or self.status == 401
            or (self.status == 404 and self.code == 0)
        )


@dataclass(frozen=True)
class Unknown:
    """No answer that says whether the message was stored (5xx, time-out, dropped connection)."""

    reason: str


Outcome = Posted | Refused | Unknown


@dataclass(frozen=True)
class Message:
    """What to post (built fresh for each attempt: files are read once)."""

    content: str | None = None
    embed: discord.Embed | None = None
    files: Callable[[], Sequence[discord.File]] | None = None
    view: discord.ui.View | None = None
    allowed_mentions: discord.AllowedMentions | None = None
    reference: discord.MessageReference | None = None


class Poster:
    """Single-attempt message creation (see the module docstring)."""

    def __init__(self, client: discord.Client, *, timeout_s: float) -> None:
        self._client = client
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def to_channel(self, channel_id: int, message: Message) -> Outcome:
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        token = self._client.http.token
        return await self._post(route.url, message, headers={"Authorization": f"Bot {token}"})

    async def to_interaction(self, application_id: int, token: str, message: Message) -> Outcome:
        """An interaction follow-up (``wait=true``, so Discord answers with the message)."""
        route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=application_id,
                      webhook_token=token)  # fmt: skip
        return await self._post(route.url, message, params={"wait": "true"})

    async def _post(
        self,
        url: str,
        message: Message,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Outcome:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            outcome, retry_after = await self._once(url, message, headers or {}, params)
            if retry_after is None:
                return outcome
            if attempt == RATE_LIMIT_RETRIES:
                break
            log.info("rate limited; posting again in %.2f s", retry_after)
            await asyncio.sleep(retry_after)
        return Refused(429, 0, "rate limited")

    async def _once(
        self, url: str, message: Message, headers: dict[str, str], params: dict[str, str] | None
    ) -> tuple[Outcome, float | None]:
        files = list(message.files()) if message.files is not None else []
        parameters = handle_message_parameters(
            content=message.content if message.content is not None else discord.utils.MISSING,
            embed=message.embed if message.embed is not None else discord.utils.MISSING,
            files=files if files else discord.utils.MISSING,
            view=message.view if message.view is not None else discord.utils.MISSING,
            allowed_mentions=message.allowed_mentions or discord.utils.MISSING,
            message_reference=(
                message.reference.to_message_reference_dict() if message.reference else discord.utils.MISSING
            ),
            previous_allowed_mentions=self._client.allowed_mentions,
        )
        with parameters:
            if parameters.multipart:
                data: Any = aiohttp.FormData(quote_fields=False)
                for part in parameters.multipart:
                    data.add_field(**part)
            else:
                data = json.dumps(parameters.payload)
                headers = {**headers, "Content-Type": "application/json"}
            try:
                async with self._http().post(
                    url, data=data, headers=headers, params=params,
                    timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                ) as response:  # fmt: skip
                    body = await response.read()
                    if response.status >= 400:
                        metrics().discord_error(response.status)
                    return _classify(response.status, response.headers, body)
            except TimeoutError:
                metrics().discord_error("timeout")
                return Unknown(f"no answer within {self.timeout_s:g} s"), None
            except (aiohttp.ClientError, OSError) as exc:
                metrics().discord_error("network")
                return Unknown(f"connection lost ({type(exc).__name__})"), None


def _classify(status: int, headers: Any, body: bytes) -> tuple[Outcome, float | None]:
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if 200 <= status < 300 and isinstance(data, dict) and "id" in data:
        return Posted(int(data["id"])), None
    if 200 <= status < 300:
        return Unknown(f"Discord answered {status} without the message"), None
    if status == 429:
        retry = data.get("retry_after") if isinstance(data, dict) else None
        wait = float(retry if retry is not None else headers.get("Retry-After", 1.0))
        return Refused(429, 0, "rate limited"), min(max(wait, 0.0), MAX_RATE_LIMIT_WAIT_S)
    if status >= 500:
        return Unknown(f"Discord answered {status}"), None
    code = int(data.get("code", 0)) if isinstance(data, dict) else 0
    text = str(data.get("message", "")) if isinstance(data, dict) else ""
    return Refused(status, code, text), None


def snowflake_at(when: float) -> int:
    """The smallest message id Discord could have given at epoch second ``when``."""
    return discord.utils.time_snowflake(dt.datetime.fromtimestamp(max(when, 1_420_070_400), dt.UTC))


async def find_marked(
    channel: discord.abc.Messageable,
    *,
    author_id: int | None,
    is_marked: Callable[[discord.Message], bool],
    after: int,
    before: int | None = None,
    limit: int = 5000,
) -> int | None:
    """The id of the first message by ``author_id`` in ``(after, before)`` that ``is_marked``.

    The window is bounded by message ids (which encode time) and by ``limit`` messages, so a
    busy channel is searched where the post can be, not from its beginning, and never without end.
    """
    async for message in channel.history(
        limit=limit,
        after=discord.Object(after),
        before=discord.Object(before) if before is not None else None,
        oldest_first=True,
    ):
        if author_id is not None and message.author.id != author_id:
            continue
        if is_marked(message):
            return message.id
    return None
