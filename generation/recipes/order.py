"""What a render is asked and gives back: plain data, so it can travel to a remote worker.

:class:`RenderJob` (a request, its recipe, and what a recipe needs besides) goes in;
:class:`Rendered` (finished :class:`Clip` MP3s, spare candidates, a scene's stems, GPU seconds)
comes out; :class:`Progress` events go back while it runs. :class:`RenderContext` is what every
render path needs besides the job: the :class:`Gpu`, the finishing settings, where CPU work runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from generation.errors import GenerationError
from generation.recipes.long_render import DISCORD_UPLOAD_LIMIT
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.audio.finishing import FinishSettings
    from generation.backends.base import Backend
    from generation.executor import BatchResult
    from generation.recipes.mixing import Mix

T = TypeVar("T")

#: Work for the GPU thread: gets the engine and a per-step callback (which may raise Cancelled).
EngineWork = Callable[["Backend", Callable[[int, int], None]], T]

Offload = Callable[..., Awaitable[Any]]
"""``await offload(fn, *args)`` runs ``fn(*args)`` off the event loop (a thread by default; the
bot uses a separate process, so CPU-heavy audio work never holds its GIL); ``fn`` and ``args``
must then be picklable."""


@dataclass(frozen=True)
class Progress:
    """Where a render stands: step ``step`` of ``total``, in ``stage`` ("segment 3 of 12")."""

    step: int
    total: int
    stage: str | None = None


ProgressSink = Callable[[Progress], None]
"""Receives progress on the caller's (event loop) thread."""


class Gpu(Protocol):
    """What a render needs from the GPU side (implemented by :class:`generation.executor.GpuExecutor`).

    It may hold several models: ``sample_rate``, ``model_name`` and ``channels`` are the default
    model's, :meth:`model` is the same GPU seen as another model, and :meth:`generate` runs on the
    model its requests name.
    """

    @property
    def models(self) -> tuple[str, ...]:
        """The names of the loaded models, the default first."""
        ...

    def model(self, name: str | None) -> Gpu:
        """The same GPU as the model ``name`` (None: the default); raises
        :class:`~generation.errors.RequestError` when it is not loaded here."""
        ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    @property
    def channels(self) -> int:
        """1: waveforms are ``(samples,)``; 2: ``(samples, 2)``."""
        ...

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> BatchResult: ...

    async def run(
        self,
        work: EngineWork[T],
        *,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> T: ...


@dataclass(frozen=True)
class RenderJob:
    """One job's audio order."""

    request: GenerationRequest
    recipe: Recipe = PLAIN
    variations: int = 1
    """Plain clips: takes with consecutive seeds; best-of-N: how many of the best are posted;
    layers: mixes, each with every layer's seed shifted by ``variation × layers``."""
    max_bytes: int = DISCORD_UPLOAD_LIMIT
    """Long renders: the MP3 must fit this many bytes (the bitrate is chosen for it)."""
    source: Mix | None = None
    """Layer rerolls and level changes: the stored scene whose other stems are reused."""
    source_model: str | None = None
    """Level changes: the model that made the stored stems (named in the MP3's tags)."""

    @property
    def needs_gpu(self) -> bool:
        return self.recipe.needs_gpu

    def models(self) -> list[str | None]:
        """Every model the job renders with, in order, each once (None: the default model); a
        level change none, a layer reroll only its layer's."""
        recipe = self.recipe
        if not recipe.needs_gpu:
            return []
        if recipe.reroll_layer is not None and 0 <= recipe.reroll_layer < len(recipe.layer_requests):
            return [recipe.layer_requests[recipe.reroll_layer].model]
        requests = recipe.compare or recipe.layer_requests or (self.request,)
        return list(dict.fromkeys(request.model for request in requests))

    def naming(self, default: str) -> RenderJob:
        """The same job with every request that names no model naming ``default`` (so that it
        renders on that model wherever it runs, not on the default of another process)."""

        def named(request: GenerationRequest) -> GenerationRequest:
            return request if request.model else request.with_model(default)

        recipe = dataclasses.replace(
            self.recipe,
            layer_requests=tuple(map(named, self.recipe.layer_requests)),
            compare=tuple(map(named, self.recipe.compare)),
        )
        # A comparison's own request stands for both takes and stays blind: it names no model.
        request = self.request if self.recipe.compare else named(self.request)
        return dataclasses.replace(self, request=request, recipe=recipe)

    def plain_requests(self) -> list[GenerationRequest]:
        """A plain job's requests: one per variation, with consecutive seeds."""
        return [
            self.request.with_seed((self.request.seed + i) % (MAX_SEED + 1)) for i in range(self.variations)
        ]


@dataclass(frozen=True, eq=False)
class Clip:
    """One finished MP3 and the request that reproduces it."""

    request: GenerationRequest
    mp3: bytes
    lufs: float
    duration_s: float
    score: float | None = None
    """CLAP similarity to the prompt, for best-of-N candidates."""
    model: str = ""
    """The model (models, for a mix of several: "tiny + tiny-sao") that made it; "" if unknown."""


@dataclass(frozen=True, eq=False)
class Rendered:
    """What a job produced: the clips to post, spare candidates, stems, and the GPU time."""

    posted: list[Clip]
    seconds: float
    spares: list[Clip] = field(default_factory=list)
    """Best-of-N candidates after the posted ones, in rank order, kept for 🔁."""
    mix: Mix | None = None
    """The stems of a layered scene, kept for level changes and layer rerolls."""


@dataclass(frozen=True)
class RenderContext:
    """What every path needs besides the job."""

    gpu: Gpu | None
    """None where no model is loaded: only jobs that need no GPU (level changes) can render."""
    finish_settings: FinishSettings
    progress: ProgressSink | None = None
    should_stop: Callable[[], bool] | None = None
    offload: Offload = asyncio.to_thread
    """Where CPU work (loops, loudness, MP3 encoding, mixing) runs; see :data:`Offload`."""

    def step_callback(
        self, total: int, stage: str | None = None, offset: int = 0
    ) -> Callable[[int, int], None]:
        """An engine step callback that reports ``Progress(offset + step, total, stage)``."""

        def on_step(step: int, _steps: int) -> None:
            if self.progress is not None:
                self.progress(Progress(offset + step, total, stage))

        return on_step

    def require_gpu(self) -> Gpu:
        if self.gpu is None:
            raise GenerationError("this job needs the model, and none is loaded here")
        return self.gpu

    def gpu_for(self, request: GenerationRequest) -> Gpu:
        """The GPU as the model that renders ``request``."""
        return self.require_gpu().model(request.model)
