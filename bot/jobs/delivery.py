"""Delivery: finished audio to one posted result, as an explicit state machine per job.

::

    running ──store files and rows──▶ mark_posting ──▶ posting ──post once──▶ done ──▶ answered
       └── a failure on the way ──▶ failed (with the reason for its user) ──────────▶ answered

One message per job: while a slash command's interaction lasts, "post" is an edit that turns its
status message into the result (idempotent); otherwise the result is a message of its own and the
status message is deleted when the job is answered (see :mod:`bot.jobs.answers`).

The intent (``posting``, with the attempt counted) is recorded before each irreversible call.
A post whose outcome is unknown — a 5xx, a time-out or a dropped connection after Discord may
have stored the message — is never simply sent again: the job's marker is looked for on its
status message and in the channel, in a window bounded by message ids around the attempt, and
the post is kept if found or made again if not. A post that still can't be confirmed stays
``posting`` and the outbox resolves it later, the same way (also after a crash). Every step is
contained: :meth:`Delivery.deliver` never raises, and one job's failure never touches another's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

import discord

from bot.jobs.answers import Answers
from bot.jobs.messenger import NETWORK_ERRORS, SLASH_KINDS, DiscordUnavailable, Messenger, reply_reference
from bot.jobs.poster import Posted, Poster, Refused, Unknown, find_marked, snowflake_at
from bot.jobs.result_post import ResultPost
from bot.logs import job_context
from bot.storage import (
    HIDDEN_MODEL,
    CandidateStore,
    GenerationStore,
    Job,
    JobStateError,
    JobStatus,
    JobStore,
    Mp3Files,
    StemFiles,
)
from bot.ui.embeds import JOB_MARKER
from bot.ui.job_texts import delivery_failure, generation_failure, refusal_reason, storage_failure
from generation.errors import Cancelled, GenerationError, RequestError
from generation.recipes.order import Clip, Offload, Rendered

log = logging.getLogger(__name__)

#: Discord's per-file upload limit for bots when the server grants no more.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
#: Attempts made at once; after that an unconfirmed post is left to the outbox.
INLINE_ATTEMPTS = 3
#: Waits before looking for a post whose outcome was unknown (Discord may still be storing it).
UNKNOWN_WAITS_S = (1.0, 3.0, 6.0)
#: How many times an upload refused as too large is re-encoded smaller and retried.
UPLOAD_SHRINK_ATTEMPTS = 3
#: Results are looked for from this long before the intent was recorded (clock differences).
SEARCH_MARGIN_S = 120.0
#: A result that could not be confirmed (and was not found) for this long fails with a message.
GIVE_UP_AFTER_S = 3600.0
#: Waits between attempts to record a failure when the database refuses a write (a full disk).
RECORD_RETRY_WAITS_S = (0.5, 2.0)

ViewFactory = Callable[[Job], "discord.ui.View | None"]
Finder = Callable[[Job], Awaitable[int | None]]


class Delivery:
    """Stores and posts each job's result exactly once (see the module docstring)."""

    def __init__(
        self,
        *,
        jobs: JobStore,
        generations: GenerationStore,
        files: Mp3Files,
        candidates: CandidateStore,
        stems: StemFiles,
        messenger: Messenger,
        poster: Poster,
        answers: Answers,
        view_factory: ViewFactory,
        model_name: Callable[[], str],
        finder: Finder | None = None,
        offload: Offload = asyncio.to_thread,
        clock: Callable[[], float] = time.time,
        reveal_after: int = 0,
    ) -> None:
        self.jobs = jobs
        self.generations = generations
        self.files = files
        self.candidates = candidates
        self.stems = stems
        self.messenger = messenger
        self.poster = poster
        self.answers = answers
        self.view_factory = view_factory
        self.model_name = model_name
        self.offload = offload
        self.reveal_after = reveal_after
        """``[compare] reveal_after_votes``, which a comparison's post states."""
        self.find = finder or self._find_in_channel
        """Looks a job's result up where it would have been posted (replaceable in tests)."""
        self._clock = clock
        self.in_flight: set[int] = set()
        self.completed = 0
        self.failed = 0

    # -- the whole way --------------------------------------------------------------------------

    async def deliver(self, job: Job, result: asyncio.Future[Rendered]) -> None:
        """Wait for ``job``'s audio, store it and post it. Never raises."""
        with job_context(job.id):
            self.in_flight.add(job.id)
            try:
                try:
                    rendered = await result
                except Cancelled:
                    await self.cancelled(job)
                    return
                except Exception as exc:
                    self._log_generation_failure(job, exc)
                    await self.fail(job, generation_failure(exc))
                    return
                log.info("job %d: generated in %.2fs", job.id, rendered.seconds)
                await self._store_and_post(job, rendered)
            except Exception:  # a bug: contained here, and the job still gets an answer
                log.exception("job %d: delivery failed unexpectedly", job.id)
                await self.fail(
                    job, "Something went wrong while delivering your soundscape. Please try again."
                )
            finally:
                self.in_flight.discard(job.id)

    @staticmethod
    def _log_generation_failure(job: Job, exc: BaseException) -> None:
        if isinstance(exc, RequestError):
            log.info("job %d: refused by the generator: %s", job.id, exc)
        elif isinstance(exc, GenerationError):
            log.error("job %d: generation failed: %s", job.id, exc)
        else:
            log.error("job %d: unexpected failure while generating", job.id, exc_info=exc)

    async def _store_and_post(self, job: Job, rendered: Rendered) -> None:
        try:
            await self._store(job, rendered)
            job = await self.jobs.mark_posting(job.id, rendered.seconds)
        except JobStateError as exc:
            log.info("job %d: not delivered (%s)", job.id, exc)
            return
        except Exception as exc:  # a full disk, a failed database write
            log.exception("job %d: storing the result failed", job.id)
            await self.fail(job, storage_failure(exc))
            return
        await self._post(job)

    async def _store(self, job: Job, rendered: Rendered) -> None:
        """The MP3s and their rows (and best-of-N spares, and a scene's stems), before any post.

        Each row names the model that made its clip; a blind comparison's takes say
        :data:`HIDDEN_MODEL` until it is revealed (see :mod:`bot.storage.compares`).
        """
        default = self.model_name()
        for index, clip in enumerate(rendered.posted):
            model = HIDDEN_MODEL if job.recipe.compare else (clip.model or default)
            rel, sha = await self.files.save(clip.mp3)
            request = clip.request
            if job.recipe.layered:  # a mix's request is its first layer's: the row names the scene
                request = dataclasses.replace(request, user_text=job.request.user_text)
            await self.generations.add(
                job, index, request, model=model, mp3_path=rel, mp3_sha256=sha,
                mp3_bytes=len(clip.mp3), lufs=clip.lufs, gen_seconds=rendered.seconds,
                # History lists what was made: a loop's or a long render's real length.
                duration_s=round(clip.duration_s, 2) if job.recipe.loop or job.recipe.length_s else None,
            )  # fmt: skip
            if rendered.spares:
                await self._keep_candidate(job, 0, clip, rel, sha)
        for rank, clip in enumerate(rendered.spares, start=1):
            rel, sha = await self.files.save(clip.mp3)
            await self._keep_candidate(job, rank, clip, rel, sha)
        if rendered.mix is not None:
            await self.stems.save(job.id, rendered.mix)

    async def _keep_candidate(self, job: Job, rank: int, clip: Clip, rel: str, sha: str) -> None:
        await self.candidates.add(
            job.id, rank, score=clip.score if clip.score is not None else float("nan"), request=clip.request,
            mp3_path=rel, mp3_sha256=sha, mp3_bytes=len(clip.mp3), lufs=clip.lufs,
        )  # fmt: skip

    # -- posting ----------------------------------------------------------------------------------

    async def post(self, job: Job) -> None:
        """Resolve a ``posting`` job (after a restart, or an unconfirmed post). Never raises."""
        if job.id in self.in_flight:
            return
        with job_context(job.id):
            self.in_flight.add(job.id)
            try:
                await self._post(job)
            except Exception:
                log.exception("job %d: posting failed unexpectedly; it will be tried again", job.id)
            finally:
                self.in_flight.discard(job.id)

    async def _post(self, job: Job) -> None:
        try:
            if job.post_attempts and await self._resolve(job):
                return
            await self._attempts(job)
        except DiscordUnavailable as exc:
            log.warning("job %d: Discord can't be reached (%s); the post will be resolved later", job.id, exc)
        if self._clock() - (job.posting_started_at or self._clock()) > GIVE_UP_AFTER_S:
            await self._give_up(job)

    async def _resolve(self, job: Job) -> bool:
        """An earlier attempt's outcome was unknown: finish the job if its post is in the channel."""
        found = await self.find(job)
        if found is None:
            return False
        log.info("job %d: its result %d is in the channel after all", job.id, found)
        await self._posted(job, found)
        return True

    async def _attempts(self, job: Job) -> None:
        post = await ResultPost.build(
            job, generations=self.generations, files=self.files, candidates=self.candidates,
            view_factory=self.view_factory, model=self.model_name(), offload=self.offload,
            reveal_after=self.reveal_after,
        )  # fmt: skip
        limit = self._upload_limit(job)
        use_token = self.messenger.token_usable(job)
        # One message per job: while its interaction lasts, the status message becomes the result.
        edit_id = status_to_become_result(job)
        shrinks = unknown = 0
        while unknown < INLINE_ATTEMPTS:
            job = await self.jobs.note_post_attempt(job.id)
            if use_token and edit_id is not None:
                assert job.application_id is not None and job.interaction_token is not None
                await self.messenger.stop_updates(job)  # no progress line may land on the result
                message = post.message(in_channel=False, reference=None)
                outcome = await self.poster.edit_interaction_message(
                    job.application_id, job.interaction_token, edit_id, message
                )
            elif use_token:
                assert job.application_id is not None and job.interaction_token is not None
                message = post.message(in_channel=False, reference=None)
                outcome = await self.poster.to_interaction(job.application_id, job.interaction_token, message)
            else:
                # Replies to what it answers (a reroll's parent), never to its status message,
                # which is deleted once the result is recorded.
                reference = reply_reference(job, job.reply_to_message_id)
                outcome = await self.poster.to_channel(
                    job.channel_id, post.message(in_channel=True, reference=reference)
                )
            if isinstance(outcome, Posted):
                await self._posted(job, outcome.message_id)
                return
            if isinstance(outcome, Refused):
                if outcome.dead_token and use_token:
                    log.info("job %d: interaction token no longer valid; posting in the channel", job.id)
                    use_token = False
                elif outcome.status == 404 and use_token and edit_id is not None:
                    # Its status message was deleted (a moderator): the result comes as a follow-up.
                    log.info("job %d: status message %d is gone; posting a follow-up", job.id, edit_id)
                    edit_id = None
                elif outcome.too_large and shrinks < UPLOAD_SHRINK_ATTEMPTS:
                    limit = await post.shrink(limit)
                    shrinks += 1
                else:
                    log.warning(
                        "job %d: Discord refused the result: %s %s", job.id, outcome.status, outcome.text
                    )
                    await self.fail(job, delivery_failure(refusal_reason(outcome.status, outcome.code)))
                    return
                continue
            assert isinstance(outcome, Unknown)
            log.warning("job %d: result post outcome unknown (%s); looking for it", job.id, outcome.reason)
            await asyncio.sleep(UNKNOWN_WAITS_S[min(unknown, len(UNKNOWN_WAITS_S) - 1)])
            unknown += 1
            if await self._resolve(job):
                return
        log.warning("job %d: result not confirmed after %d attempts; will try again later", job.id, unknown)

    async def _find_in_channel(self, job: Job) -> int | None:
        """The id of this job's result in its channel, if it is there.

        Raises :class:`DiscordUnavailable` when the channel can't be read.
        """
        marker = JOB_MARKER.format(job_id=job.id) + " "
        since = (job.posting_started_at or job.created_at) - SEARCH_MARGIN_S
        me = getattr(self.messenger.client.user, "id", None)

        def is_marked(message: discord.Message) -> bool:
            return any((e.footer.text or "").startswith(marker) for e in message.embeds)

        channel = self.messenger.channel(job)
        try:
            # The status message that became the result is older than the window: look at it first.
            status_id = status_to_become_result(job)
            if status_id is not None:
                try:
                    if is_marked(await channel.fetch_message(status_id)):
                        return status_id
                except (discord.NotFound, discord.Forbidden):
                    pass  # gone, or not readable here: the window below still tells
            return await find_marked(channel, author_id=me, is_marked=is_marked, after=snowflake_at(since))
        except (discord.HTTPException, *NETWORK_ERRORS) as exc:
            raise DiscordUnavailable(f"reading channel {job.channel_id}: {exc}") from exc

    async def _posted(self, job: Job, message_id: int) -> None:
        await self.generations.set_message(job.id, message_id)
        try:
            job = await self.jobs.mark_done(job.id, message_id)
        except JobStateError as exc:
            log.info("job %d: already recorded (%s)", job.id, exc)
            return
        self.completed += 1
        log.info("job %d: delivered as message %d", job.id, message_id)
        await self.answers.settle(job)
        self.messenger.dispatch("ambientgen_job_delivered", job, message_id)

    async def _give_up(self, job: Job) -> None:
        """A post unconfirmed for an hour and not found in the channel: fail it with a message."""
        current = await self.jobs.get(job.id)
        if current is None or current.status is not JobStatus.POSTING:
            return
        try:
            if await self._resolve(current):
                return
        except DiscordUnavailable:
            return  # can't look: never fail a job while its result may be there
        await self.fail(current, delivery_failure("Discord did not confirm the upload for an hour"))

    def _upload_limit(self, job: Job) -> int:
        guild = self.messenger.guild(job)
        return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT

    # -- other endings ----------------------------------------------------------------------------

    async def fail(self, job: Job, message: str) -> None:
        """End ``job`` as failed with ``message`` for its user, and tell them. Never raises."""
        for wait in (*RECORD_RETRY_WAITS_S, None):
            try:
                job = await self.jobs.mark_failed(job.id, message)
                break
            except JobStateError:
                return
            except Exception:
                if wait is None:
                    log.exception("job %d: could not record its failure", job.id)
                    return
                log.warning("job %d: could not record its failure yet; retrying", job.id, exc_info=True)
                await asyncio.sleep(wait)
        self.failed += 1
        log.info("job %d: failed: %s", job.id, message)
        await self.answers.settle(job)

    async def cancelled(self, job: Job) -> None:
        """Record and show that a running job was stopped by its user. Never raises."""
        try:
            job = await self.jobs.mark_cancelled(job.id)
        except JobStateError:
            return
        except Exception:
            log.exception("job %d: could not record its cancellation", job.id)
            return
        log.info("job %d: cancelled while running", job.id)
        await self.answers.settle(job)


def status_to_become_result(job: Job) -> int | None:
    """The message a slash job's result is made of: its interaction's own status message (edited
    into the result while the token lasts). None: the result is a message of its own."""
    return job.status_message_id if job.kind in SLASH_KINDS and job.status_message_id else None
