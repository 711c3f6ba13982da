"""Fakes for the pipeline's Discord and GPU sides; the stores under them are real (SQLite)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from bot.jobs.executor import ExecutorInfo, ProgressListener, Route, Work
from bot.jobs.messenger import DiscordUnavailable
from bot.jobs.poster import Message, Outcome, Posted, Unknown
from bot.storage import Job
from generation.audio.mp3 import encode_mp3
from generation.recipes.order import Clip, Progress, Rendered
from generation.request import GenerationRequest

SAMPLE_RATE = 16_000
_ids = itertools.count(9_000_000)


def mp3_of(seconds: float = 1.0, frequency: float = 220.0) -> bytes:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return encode_mp3((0.2 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), SAMPLE_RATE, 64)


def rendered_for(request: GenerationRequest, seconds: float = 1.5) -> Rendered:
    return Rendered(posted=[Clip(request, mp3_of(), -18.0, 1.0)], seconds=seconds)


class FakeExecutor:
    """Answers each job with what ``script`` says (a Rendered, an exception, or by default a clip).

    ``gate`` (when set) holds every batch until the test sets it; ``batches`` records the job ids
    of each batch; ``fail_limits`` makes ``batch_limit`` raise (like a model that is gone).
    """

    kind = "fake"
    detached = False

    def __init__(self) -> None:
        self.script: dict[int, Rendered | BaseException] = {}
        self.batches: list[list[int]] = []
        self.cancelled: list[int] = []
        self.gate: asyncio.Event | None = None
        self.fail_limits = False
        self.submitting = asyncio.Event()

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def surviving(self) -> frozenset[tuple[int, str]]:
        return frozenset()

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def model_name(self) -> str:
        return "fake-model"

    def batch_limit(self, request: GenerationRequest) -> int:
        if self.fail_limits:
            raise RuntimeError("the model is gone")
        return 4

    def available(self) -> bool:
        return True

    async def ready(self) -> None: ...

    def route(self, models: Sequence[str | None]) -> Route:
        return Route(tuple(model or "fake-model" for model in models), True, True)

    async def room_changed(self) -> None:
        await asyncio.get_running_loop().create_future()  # every route always has room

    @property
    def lanes(self) -> int:
        return 1

    def cancel(self, job_id: int) -> bool:
        self.cancelled.append(job_id)
        return True

    def info(self) -> ExecutorInfo:
        return ExecutorInfo(self.kind, ("fake-model",), "none", "ready")

    async def submit(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        self.batches.append([w.job_id for w in batch])
        self.submitting.set()
        for work in batch:
            progress(work.job_id, Progress(1, 10))
        if self.gate is not None:
            await self.gate.wait()
        loop = asyncio.get_running_loop()
        futures = []
        for work in batch:
            future: asyncio.Future[Rendered] = loop.create_future()
            outcome = self.script.get(work.job_id) or rendered_for(work.render.request)
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
            futures.append(future)
        return futures


@dataclass
class FakeMessenger:
    """Records every status write; ``unreachable`` makes the writes fail like a Discord outage."""

    unreachable: bool = False
    updates: list[tuple[int, str]] = field(default_factory=list)
    finals: list[tuple[int, str]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    reactions: list[int] = field(default_factory=list)
    events: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    client: Any = field(default_factory=lambda: SimpleNamespace(user=SimpleNamespace(id=1)))

    def token_usable(self, job: Job) -> bool:
        return job.interaction_token is not None

    def guild(self, job: Job) -> None:
        return None

    def channel(self, job: Job) -> Any:
        return SimpleNamespace(id=job.channel_id)

    def update_status(self, job: Job, text: str) -> None:
        self.updates.append((job.id, text))

    def register_status(self, job: Job, message_id: int, shown: str) -> None: ...

    def _write(self, what: str) -> None:
        if self.unreachable:
            raise DiscordUnavailable(what)

    async def final_status(self, job: Job, text: str) -> bool:
        self._write(f"status of {job.id}")
        self.finals.append((job.id, text))
        return job.status_message_id is not None

    async def remove_status(self, job: Job) -> None:
        self._write(f"status of {job.id}")
        self.removed.append(job.id)

    async def add_reroll_reaction(self, channel_id: int, guild_id: int | None, message_id: int) -> None:
        self._write(f"reaction on {message_id}")
        self.reactions.append(message_id)

    async def post_status(self, job: Job, text: str, reply_to: int | None) -> int | None:
        return None

    def dispatch(self, event: str, *args: Any) -> None:
        self.events.append((event, args))


@dataclass
class FakePoster:
    """Discord's message store, seen through single-shot posts.

    ``outcomes`` scripts the next answers: "ok", "stored-then-5xx" (created, answer lost),
    "lost" (nothing created, no answer) or an :data:`Outcome` to return as it is.
    """

    outcomes: list[Any] = field(default_factory=list)
    stored: list[Message] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    attempts: int = 0

    async def _post(self, message: Message) -> Outcome:
        self.attempts += 1
        script = self.outcomes.pop(0) if self.outcomes else "ok"
        if not isinstance(script, str):
            return script
        if script == "lost":
            return Unknown("connection lost")
        message_id = next(_ids)
        self.stored.append(message)
        self.ids.append(message_id)
        return Posted(message_id) if script == "ok" else Unknown("Discord answered 502")

    async def to_channel(self, channel_id: int, message: Message) -> Outcome:
        return await self._post(message)

    async def to_interaction(self, application_id: int, token: str, message: Message) -> Outcome:
        return await self._post(message)

    def results_for(self, job_id: int) -> list[int]:
        marker = f"Job #{job_id} "
        return [
            message_id
            for message, message_id in zip(self.stored, self.ids, strict=True)
            if message.embed is not None and (message.embed.footer.text or "").startswith(marker)
        ]

    async def find(self, job: Job) -> int | None:
        found = self.results_for(job.id)
        return found[0] if found else None

    async def close(self) -> None: ...
