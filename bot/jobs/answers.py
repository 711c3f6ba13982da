"""Telling a user how their job ended, once: the last word on its status, its 🔁, its failure.

An ended job (done, failed, cancelled) owes its user an answer until ``answered_at`` is set:
for a result, the bot's 🔁 on it, then its status message removed unless it became the result
(one message per job: the result stays, alone; where Discord refuses the deletion it says "✅
Done"); for a failure, the
reason on the status message, or in the channel when that message can't show it (marked with the
job, so a notice whose post had an unknown outcome is found, not sent twice); for a
cancellation, "🛑 Cancelled.". When Discord can't be reached the answer stays owed
and :class:`~bot.jobs.outbox.Outbox` tries again later — also after a restart.
"""

from __future__ import annotations

import logging

import discord

from bot.jobs.messenger import NETWORK_ERRORS, UNREACHABLE, DiscordUnavailable, Messenger
from bot.jobs.poster import Message, Posted, Poster, Refused, find_marked, snowflake_at
from bot.storage import Job, JobStatus, JobStore
from bot.ui.job_texts import CANCELLED_TEXT, done_status, failure_marker, failure_notice, failure_status

log = logging.getLogger(__name__)

#: How far before the job's end a failure notice is looked for (clock differences).
SEARCH_MARGIN_S = 120.0


class Answers:
    """Gives ended jobs their answer (see the module docstring)."""

    def __init__(self, jobs: JobStore, messenger: Messenger, poster: Poster) -> None:
        self.jobs = jobs
        self.messenger = messenger
        self.poster = poster
        self.in_flight: set[int] = set()

    async def settle(self, job: Job) -> bool:
        """Give ``job`` its answer; True once it has one. Never raises: an answer that can't be
        given now (Discord unreachable, a bug) is logged and left owed."""
        if job.answered_at is not None or job.id in self.in_flight:
            return job.answered_at is not None
        self.in_flight.add(job.id)
        try:
            if job.status is JobStatus.DONE:
                await self._close_done(job)
            elif job.status is JobStatus.FAILED:
                await self._show_failure(job)
            elif job.status is JobStatus.CANCELLED:
                await self.messenger.final_status(job, CANCELLED_TEXT)
            else:
                return False  # still active: nothing to answer yet
            await self.jobs.mark_answered(job.id)
            return True
        except DiscordUnavailable as exc:
            log.warning("job %d: Discord can't be reached (%s); its answer will be given later", job.id, exc)
        except Exception:
            log.exception("job %d: giving its answer failed; it will be tried again", job.id)
        finally:
            self.in_flight.discard(job.id)
        return False

    async def _close_done(self, job: Job) -> None:
        assert job.result_message_id is not None
        if not job.recipe.compare:  # a blind comparison is voted on, not rerolled
            await self.messenger.add_reroll_reaction(job.channel_id, job.guild_id, job.result_message_id)
        if job.result_message_id == job.status_message_id:
            self.messenger.forget(job)  # its status message became the result: nothing to remove
            return
        # After the 🔁, so a crash in between leaves the job owed and the restart finishes both.
        await self.messenger.remove_status(job, fallback=done_status(job))

    async def _show_failure(self, job: Job) -> None:
        error = job.error or "Something went wrong."
        if await self.messenger.final_status(job, failure_status(error)):
            return
        # No status message that can still be edited: say it in the channel, once.
        channel = self.messenger.channel(job)
        message = Message(
            content=failure_notice(job, error),
            allowed_mentions=discord.AllowedMentions(users=[discord.Object(job.user_id)], everyone=False),
        )
        # Looked for first: an earlier attempt may have posted it without hearing back.
        if await self._notice_found(job):
            return
        outcome = await self.poster.to_channel(channel.id, message)
        if isinstance(outcome, Posted):
            return
        if isinstance(outcome, Refused):
            await self._tell_by_dm(job, error, outcome)
            return
        if await self._notice_found(job):
            return
        raise DiscordUnavailable(f"failure notice of job {job.id}: {outcome.reason}")

    async def _notice_found(self, job: Job) -> bool:
        marker = failure_marker(job.id)
        me = getattr(self.messenger.client.user, "id", None)
        try:
            found = await find_marked(
                self.messenger.channel(job),
                author_id=me,
                is_marked=lambda m: marker in (m.content or ""),
                after=snowflake_at((job.finished_at or job.created_at) - SEARCH_MARGIN_S),
            )
        except (discord.HTTPException, *NETWORK_ERRORS) as exc:
            raise DiscordUnavailable(f"reading channel {job.channel_id}: {exc}") from exc
        return found is not None

    async def _tell_by_dm(self, job: Job, error: str, refusal: Refused) -> None:
        log.warning("job %d: could not tell the user in the channel (%s %s); trying a DM",
                    job.id, refusal.status, refusal.text)  # fmt: skip
        client = self.messenger.client
        try:
            user = client.get_user(job.user_id) or await client.fetch_user(job.user_id)
            await user.send(error)
        except UNREACHABLE as exc:
            raise DiscordUnavailable(f"DM to user {job.user_id}: {exc}") from exc
        except discord.HTTPException as exc:
            # Nowhere left to say it: the reason stays in /history's job row and the log.
            log.warning("job %d: could not tell the user by DM either: %s", job.id, exc)
