"""A job's status message: edits (throttled and coalesced), the final word, the 🔁 reaction.

A job started by a slash command talks through its interaction webhook (rebuilt from the stored
token, so it works after a restart) until the token nears its 15-minute end; after that, and for
jobs started by a reaction, it uses plain channel messages. These writes are idempotent (edits,
reactions, deletions), so retrying them is safe; creating messages that must exist exactly once
is :mod:`bot.jobs.poster`'s job. A failure never propagates out of a progress edit; the final
edits say whether they were shown, impossible, or must be tried again later
(:class:`DiscordUnavailable`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import discord

from bot.config import TOKEN_MARGIN_S  # the config refuses TTLs this margin would leave unused
from bot.jobs.estimate import Throttle
from bot.storage import KIND_AMBIENT, KIND_COMPARE, Job
from bot.tasks import spawn
from bot.ui.embeds import REROLL_EMOJI

#: Jobs asked for by a slash command: their status and result go through its interaction token.
SLASH_KINDS = (KIND_AMBIENT, KIND_COMPARE)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Discord error codes meaning "this webhook/interaction token is no longer usable".
_DEAD_TOKEN_CODES = {10015, 50027, 10062}
#: Retries for 5xx/network errors on top of discord.py's own (it already handles 429s).
_RETRIES = 3


#: Errors that say nothing reached Discord, or nothing came back (worth trying again).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    aiohttp.ClientError,
    discord.GatewayNotFound,
)
#: What makes an idempotent write "try again later": 5xx answers and network errors.
UNREACHABLE: tuple[type[BaseException], ...] = (discord.DiscordServerError, *NETWORK_ERRORS)


class DiscordUnavailable(Exception):
    """Discord could not be reached (5xx or network, after retries): try again later."""


async def with_retries(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` again after 5xx answers or dropped connections, with exponential backoff."""
    delay = 1.0
    for attempt in range(1, _RETRIES + 1):
        try:
            return await call()
        except discord.DiscordServerError:
            if attempt == _RETRIES:
                raise
            log.warning("%s: Discord answered 5xx, retry %d in %.0fs", what, attempt, delay)
        except NETWORK_ERRORS as exc:
            if attempt == _RETRIES:
                raise
            log.warning("%s: network error (%s), retry %d in %.0fs", what, exc, attempt, delay)
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def reply_reference(job: Job, message_id: int | None) -> discord.MessageReference | None:
    """A reply reference in the job's channel that does not fail if the message is gone."""
    if not message_id:
        return None
    return discord.MessageReference(
        message_id=message_id, channel_id=job.channel_id, fail_if_not_exists=False
    )


class Messenger:
    """Talks to Discord on behalf of jobs."""

    def __init__(
        self,
        client: discord.Client,
        *,
        status_interval_s: float,
        interaction_ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._ttl = interaction_ttl_s
        self._clock = clock
        self._throttle = Throttle(status_interval_s)
        self._latest: dict[int, str] = {}
        self._sent: dict[int, str] = {}
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._dead_status: set[int] = set()
        self._status_ids: dict[int, int] = {}
        self._sealed: set[int] = set()
        """Jobs whose status message is becoming their result: no more progress edits."""
        self._editing: set[int] = set()
        """Jobs with a progress edit under way (it is let finish, never cut off mid-request)."""

    # -- plumbing -------------------------------------------------------------------------

    @property
    def client(self) -> discord.Client:
        """The client this messenger talks through."""
        return self._client

    def dispatch(self, event: str, *args: object) -> None:
        """Tell the bot's listeners (cogs) about ``event`` (``on_<event>``)."""
        self._client.dispatch(event, *args)

    def token_usable(self, job: Job) -> bool:
        """Whether the job's interaction token can still be used (slash-command jobs only)."""
        if job.kind not in SLASH_KINDS or not job.interaction_token or job.application_id is None:
            return False
        created = job.interaction_created_at or 0.0
        return self._clock() - created < self._ttl - TOKEN_MARGIN_S

    def _webhook(self, job: Job) -> discord.Webhook:
        assert job.application_id is not None and job.interaction_token is not None
        return discord.Webhook.partial(job.application_id, job.interaction_token, client=self._client)

    def guild(self, job: Job) -> discord.Guild | None:
        return self._client.get_guild(job.guild_id) if job.guild_id is not None else None

    def channel(self, job: Job) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)

    # -- status messages ------------------------------------------------------------------

    def status_message_id(self, job: Job) -> int | None:
        return self._status_ids.get(job.id, job.status_message_id)

    def register_status(self, job: Job, message_id: int, shown: str) -> None:
        """Record the status message a job got (and the text it shows) once it exists.

        The worker may already have asked for a newer text in the meantime: it follows, throttled.
        """
        self._status_ids[job.id] = message_id
        self._sent[job.id] = shown
        self._throttle.mark(job.id)
        latest = self._latest.get(job.id)
        if latest is not None and latest != shown:
            self.update_status(job, latest)

    def update_status(self, job: Job, text: str) -> None:
        """Show ``text`` on the job's status message: now if allowed, else once the throttle opens.

        Only the latest text is sent; intermediate ones are skipped (coalesced).
        """
        if job.id in self._dead_status or job.id in self._sealed:
            return
        self._latest[job.id] = text
        if self.status_message_id(job) is None:
            return  # shown once the status message exists (see register_status)
        if self._sent.get(job.id) == text or job.id in self._pending:
            return
        self._pending[job.id] = spawn(self._flush(job), f"status-{job.id}")

    async def _flush(self, job: Job) -> None:
        try:
            while job.id not in self._sealed:
                wait = self._throttle.wait_time(job.id)
                if wait > 0:
                    await asyncio.sleep(wait)
                text = self._latest.get(job.id)
                if text is None or text == self._sent.get(job.id) or job.id in self._sealed:
                    return
                self._throttle.mark(job.id)
                self._sent[job.id] = text
                self._editing.add(job.id)
                try:
                    await self._flush_edit(job, text)
                finally:
                    self._editing.discard(job.id)
        finally:
            if self._pending.get(job.id) is asyncio.current_task():
                self._pending.pop(job.id, None)

    async def stop_updates(self, job: Job) -> None:
        """No more progress edits of the job's status message (it is becoming the result).

        A progress edit already under way is waited for, never cut off: cancelled mid-request it
        could still land after the result and replace its text.
        """
        self._sealed.add(job.id)
        task = self._pending.pop(job.id, None)
        if task is None or task.done():
            return
        if job.id in self._editing:
            await asyncio.wait([task])
        else:
            task.cancel()

    async def _edit_status(self, job: Job, **fields: object) -> bool:
        """True when shown; False when it can't be (no status message, gone, token expired).

        Raises :class:`DiscordUnavailable` when Discord could not be reached.
        """
        message_id = self.status_message_id(job)
        if message_id is None or job.id in self._dead_status:
            return False
        try:
            if self.token_usable(job):
                await with_retries(
                    f"job {job.id} status", lambda: self._webhook(job).edit_message(message_id, **fields)
                )
            elif job.kind not in SLASH_KINDS:
                message = self.channel(job).get_partial_message(message_id)
                await with_retries(f"job {job.id} status", lambda: message.edit(**fields))
            else:
                return False  # the interaction token expired: that message can no longer be edited
            return True
        except discord.NotFound:
            log.info("job %d: status message %d is gone; no more status edits", job.id, message_id)
            self._dead_status.add(job.id)
        except UNREACHABLE as exc:
            raise DiscordUnavailable(f"status edit of job {job.id}: {exc}") from exc
        except discord.HTTPException as exc:
            log.warning("job %d: status edit failed: %s", job.id, exc)
        return False

    async def _flush_edit(self, job: Job, text: str) -> None:
        try:
            await self._edit_status(job, content=text)
        except DiscordUnavailable as exc:
            # A progress line: the next one (or the final status) will be tried again.
            log.warning("%s", exc)

    async def final_status(self, job: Job, text: str) -> bool:
        """Replace the status message one last time (bypassing the throttle) and forget the job.

        Returns whether the edit went through (False: it can't be); raises
        :class:`DiscordUnavailable` when Discord could not be reached (the job is not forgotten).
        """
        self._cancel_pending(job)
        shown = await self._edit_status(job, content=text)
        self.forget(job)
        return shown

    async def remove_status(self, job: Job, fallback: str | None = None) -> None:
        """Delete the status message (its result is a message of its own) and forget the job.

        Through the interaction token while it lasts (no permission needed), else as the bot's
        own channel message. Where Discord refuses the deletion, ``fallback`` is shown on it
        instead, so no stale progress line stays behind. Raises :class:`DiscordUnavailable` when
        Discord could not be reached (the job is not forgotten: the outbox tries again).
        """
        self._cancel_pending(job)
        message_id = self.status_message_id(job)
        if message_id is not None and job.id not in self._dead_status:
            if not await self._delete_status(job, message_id) and fallback is not None:
                await self._edit_status(job, content=fallback)
        self.forget(job)

    async def _delete_status(self, job: Job, message_id: int) -> bool:
        """True when the status message is gone (deleted now, or already)."""
        if self.token_usable(job):
            try:
                await with_retries(
                    f"job {job.id} status delete", lambda: self._webhook(job).delete_message(message_id)
                )
                return True
            except discord.NotFound:
                return True
            except UNREACHABLE as exc:
                raise DiscordUnavailable(f"deleting status {message_id}: {exc}") from exc
            except discord.HTTPException as exc:
                log.info("job %d: could not delete status %d by its token: %s", job.id, message_id, exc)
        return await self.delete_message(job, message_id)

    def _cancel_pending(self, job: Job) -> None:
        task = self._pending.pop(job.id, None)
        if task is not None:
            task.cancel()
        self._latest.pop(job.id, None)

    def forget(self, job: Job) -> None:
        """Drop what is kept about a finished job's status message."""
        for table in (self._latest, self._sent, self._status_ids):
            table.pop(job.id, None)
        self._dead_status.discard(job.id)
        self._sealed.discard(job.id)
        self._throttle.forget(job.id)

    async def post_status(self, job: Job, text: str, reply_to: int | None) -> int | None:
        """Post a new status message in the channel (jobs without an interaction).

        Not retried: a second copy of a status line would be clutter, and a missing one only
        means the job's progress is not shown (its result and answer still come).
        """
        reference = reply_reference(job, reply_to)
        try:
            message = await self.channel(job).send(
                text, reference=reference, allowed_mentions=discord.AllowedMentions.none()
            )
        except (discord.HTTPException, *NETWORK_ERRORS) as exc:
            log.warning("job %d: could not post a status message: %s", job.id, exc)
            return None
        self.register_status(job, message.id, text)
        return message.id

    # -- results ------------------------------------------------------------------------------

    async def add_reroll_reaction(self, channel_id: int, guild_id: int | None, message_id: int) -> None:
        """Put the bot's 🔁 on a result (idempotent); raises :class:`DiscordUnavailable` when
        Discord could not be reached. A refusal (missing permission, deleted message) is logged."""
        message = self._client.get_partial_messageable(channel_id, guild_id=guild_id).get_partial_message(
            message_id
        )
        try:
            await with_retries("reroll reaction", lambda: message.add_reaction(REROLL_EMOJI))
        except UNREACHABLE as exc:
            raise DiscordUnavailable(f"reaction on message {message_id}: {exc}") from exc
        except discord.HTTPException as exc:
            log.info("could not add %s to message %d: %s", REROLL_EMOJI, message_id, exc)

    async def delete_message(self, job: Job, message_id: int) -> bool:
        """Delete one of the bot's messages in the job's channel; True when it is gone."""
        try:
            await with_retries(
                f"job {job.id} delete", lambda: self.channel(job).get_partial_message(message_id).delete()
            )
        except discord.NotFound:
            pass
        except UNREACHABLE as exc:
            raise DiscordUnavailable(f"deleting message {message_id}: {exc}") from exc
        except discord.HTTPException as exc:
            log.info("job %d: could not delete message %d: %s", job.id, message_id, exc)
            return False
        return True
