"""The seam between the bot and the GPU: what an executor takes, gives back, and reports.

The scheduler hands an executor a batch of :class:`Work` (plain data: the job id and its
:class:`~generation.recipes.render.RenderJob`), and gets back one future per work item, resolved
with the finished :class:`~generation.recipes.render.Rendered` audio or the error that ended it.
Progress comes back as :class:`~generation.recipes.render.Progress` events per job. Nothing here
imports torch or Discord, so an executor can be a GPU thread in this process (``LocalExecutor``)
or GPU workers on other machines, and the bot need not load a model at all in the second case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from generation.recipes.order import Progress, Rendered, RenderJob
from generation.request import GenerationRequest

#: Receives a job's progress (on the event loop).
ProgressListener = Callable[[int, Progress], None]


class ExecutorUnavailable(RuntimeError):
    """The executor can't start (its broker is unreachable, …); the message is one line for the operator."""


@dataclass(frozen=True)
class Work:
    """One job for the GPU."""

    job_id: int
    render: RenderJob
    nonce: str = ""
    """The job row's nonce: binds the work to the database that made it (see
    :mod:`bot.storage.identity`)."""


@dataclass(frozen=True)
class ModelInfo:
    """One loaded model, as ``/status`` shows it."""

    name: str
    """Its display name (a local folder by its own name)."""
    family: str
    """Registry key of its family ("audioldm2", "stable-audio-open", "stable-audio-3")."""
    sample_rate: int
    channels: int
    device: str
    """Where it runs and in what precision: "cuda:0 (float16)"."""
    generating: bool
    """Whether it is on the GPU right now."""


@dataclass(frozen=True)
class Route:
    """Where a batch that renders with some models stands (see :meth:`Executor.route`)."""

    models: tuple[str, ...]
    """The models it needs, by name."""
    served: bool
    """A GPU online serves all of them (False: it waits for one, "waiting for a GPU worker with …")."""
    room: bool
    """One such GPU can take it now."""


@dataclass(frozen=True)
class ExecutorInfo:
    """What ``/status`` shows about the executor."""

    kind: str
    """"local" or the name of a remote transport."""
    models: tuple[str, ...]
    device: str
    state: str
    """A short phrase: "ready", "generating", "waiting for a GPU worker", "failed: …"."""
    rebuilds: int = 0
    details: dict[str, str] = field(default_factory=dict)
    """More lines for ``/status`` (prompt cache, workers online, …)."""
    loaded: tuple[ModelInfo, ...] = ()
    """Each model in detail, the default first, where the executor knows them (empty: only
    :attr:`models` is known)."""


class Executor(Protocol):
    """Turns batches of work into finished audio (see the module docstring)."""

    detached: bool
    """Its running work outlives the bot (GPU workers): stopping the bot gives it no grace, and
    the next start collects its results. False: the work dies with the bot's process."""

    def surviving(self) -> frozenset[tuple[int, str]]:
        """(job id, nonce) of the jobs whose work from an earlier run of the bot is still alive
        (read at :meth:`start`): that run did not die, so the restart is no attempt of theirs."""
        ...

    async def start(self) -> None:
        """Get ready (load the model, connect); raises with a clear message when it can't."""
        ...

    async def close(self) -> None:
        """Stop; a running batch gets no more than the caller's grace period (it is cancelled)."""
        ...

    @property
    def sample_rate(self) -> int:
        """Of the audio the model makes (for served candidates whose length is read back)."""
        ...

    @property
    def model_name(self) -> str: ...

    def batch_limit(self, request: GenerationRequest) -> int:
        """Most clips like ``request`` one batch may hold."""
        ...

    def available(self) -> bool:
        """Whether a GPU can take work now (a remote executor: a worker is online)."""
        ...

    @property
    def lanes(self) -> int:
        """How many batches run side by side (GPU workers online); queue estimates divide by it."""
        ...

    async def ready(self) -> None:
        """Wait until a batch can be handed over now (a remote executor: a worker has room).

        The scheduler waits here before it takes the next batch from the fair queue, so a job
        leaves the queue only when a GPU can start it.
        """
        ...

    def route(self, models: Sequence[str | None]) -> Route:
        """Whether a batch rendering with ``models`` (None: the default model) can go to a GPU now.

        The scheduler takes the fairest job whose route has room; the others keep their places.
        """
        ...

    async def room_changed(self) -> None:
        """Return at the next change of where batches can go (a worker came or left, a batch ended).

        The scheduler waits here, and for new jobs, when no waiting job's route has room. An
        executor whose routes always have room never returns.
        """
        ...

    async def submit(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        """Start ``batch``; return once it is handed over, with one future per item.

        The local executor returns when the GPU part is done (the CPU part goes on); a remote one
        as soon as the batch is in Redis. Either way :meth:`ready` says when the next may come.

        Never raises for a job's failure: that future carries the exception (``Cancelled`` when
        the job was cancelled, ``GenerationError`` and its kin otherwise).
        """
        ...

    def cancel(self, job_id: int) -> bool:
        """Stop ``job_id`` between two steps; False if it is not running here."""
        ...

    def info(self) -> ExecutorInfo: ...
