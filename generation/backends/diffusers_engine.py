"""What every diffusers-based backend shares: loading, batching, progress, pacing, memory, ranking.

A family subclasses :class:`DiffusersEngine` and supplies how to build its tiny model, how to
load a published checkpoint, which samplers its names map to, and :meth:`DiffusersEngine._run`
— the one pipeline call for a batch. Everything else (the batch checks, one seeded generator per
waveform, per-step progress with cancellation and test pacing, out-of-memory handling, the
warm-up that sizes automatic batches, torch.compile of the denoiser, CLAP scores for best-of-N)
is here once. See :mod:`generation.backends.base` for the interface and the waveform layout.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from generation.backends.devices import is_out_of_memory
from generation.backends.pacing import TestPacing
from generation.backends.registry import family_by_key
from generation.errors import Cancelled, GenerationError, OutOfMemory
from generation.request import SCHEDULERS, GenerationRequest
from generation.settings import EngineSettings

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

    from generation.backends.base import ProgressCallback, PromptCache
    from generation.backends.clap import ClapComponents
    from generation.recipes.ranking import RankedCandidates

#: Upper bound of the automatic batch size (beyond it throughput stops improving on an H100).
MAX_AUTO_BATCH = 8
#: Automatic batch size where memory cannot be measured (CPU, MPS).
DEFAULT_AUTO_BATCH = 4
#: Share of the free GPU memory the automatic batch size may plan to use.
BATCH_MEMORY_SHARE = 0.8
#: Steps of each warm-up call (enough to compile and to measure memory).
WARM_UP_STEPS = 2

StepCallback = Callable[[int], None]


def prompt_lists(requests: Sequence[GenerationRequest]) -> tuple[list[str], list[str] | None]:
    """A batch's prompts, and its negative prompts when guidance uses them (guidance is one value
    per batch; at 1 or below the pipelines skip the unconditional pass)."""
    guided = requests[0].guidance > 1.0
    return [r.prompt for r in requests], [r.negative_prompt for r in requests] if guided else None


"""Given to :meth:`DiffusersEngine._run`: call it with the 0-based index of each finished step."""


class DiffusersEngine:
    """One loaded diffusers pipeline of some family, generating batches of compatible requests."""

    family: ClassVar[str]
    """Registry key of the family."""
    denoiser: ClassVar[str] = "unet"
    """The pipeline attribute holding the denoising network (compiled by :meth:`compile`)."""
    tiny_id: ClassVar[str]
    """The built-in tiny model's id."""
    gated: ClassVar[bool] = False
    """Whether the published weights need an accepted licence and a Hugging Face token."""
    offline_hint: ClassVar[str] = ""
    """What works without the hub, said when a checkpoint cannot be loaded."""

    def __init__(
        self,
        pipe: DiffusionPipeline,
        *,
        model_name: str,
        device: torch.device,
        prompts: PromptCache,
        sample_rate: int,
        channels: int,
        max_duration_s: float,
        pacing: TestPacing | None = None,
    ) -> None:
        self.pipe = pipe
        self.model_name = model_name
        self.device = device
        self.dtype = getattr(pipe, self.denoiser).dtype
        self.prompts = prompts
        self.sample_rate = sample_rate
        self.channels = channels
        self.max_duration_s = max_duration_s
        self.pacing = pacing or TestPacing()
        self.compiled = False
        self._schedulers: dict[str, object] = {"default": pipe.scheduler}
        self._item_bytes_per_s: float | None = None
        """GPU memory one request needs per denoised second, measured by :meth:`warm_up`."""
        self._clap: ClapComponents | None = None

    # --- what a family supplies ----------------------------------------------------------------

    @classmethod
    def build_tiny(cls) -> DiffusionPipeline:
        """The family's tiny random pipeline (built in code, offline)."""
        raise NotImplementedError

    @classmethod
    def load_pretrained(cls, model_id: str, dtype: torch.dtype) -> DiffusionPipeline:
        """A published checkpoint or a local folder; any exception becomes ModelUnavailable."""
        raise NotImplementedError

    @classmethod
    def prepare(cls, pipe: DiffusionPipeline) -> str:
        """Adjust a freshly loaded pipeline before it is placed; returns its attention kind."""
        return "default"

    @classmethod
    def create(
        cls,
        pipe: DiffusionPipeline,
        *,
        model_name: str,
        device: torch.device,
        prompt_cache_size: int,
        pacing: TestPacing | None,
    ) -> DiffusersEngine:
        """The engine around a placed pipeline. Every family's constructor takes these keywords."""
        return cls(  # type: ignore[call-arg]
            pipe, model_name=model_name, device=device, prompt_cache_size=prompt_cache_size, pacing=pacing
        )

    def _make_scheduler(self, name: str, base_config: dict[str, Any]) -> object:
        """A scheduler for the sampler ``name`` (not "default"), from the checkpoint's config."""
        raise NotImplementedError

    def _run(
        self,
        requests: Sequence[GenerationRequest],
        generators: list[torch.Generator],
        waveforms_per_request: int,
        on_step: StepCallback,
    ) -> np.ndarray:
        """One pipeline call: ``(B, samples)`` mono or ``(B, channels, samples)`` audio, in order."""
        raise NotImplementedError

    def clap(self) -> ClapComponents:
        """The CLAP model best-of-N ranks with (loaded on first use)."""
        from generation.backends.clap import DEFAULT_CLAP_MODEL_ID, build_tiny_clap, load_clap

        if self._clap is None:
            if self.model_name == self.tiny_id:
                self._clap = build_tiny_clap()
                self._clap.text_encoder.to(self.device)
            else:
                self._clap = load_clap(DEFAULT_CLAP_MODEL_ID, self.device, self.dtype)
        return self._clap

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, settings: EngineSettings | None = None) -> DiffusersEngine:
        """Load the model named by ``settings``; raises
        :class:`generation.errors.ModelUnavailable` with one clear line."""
        from generation.backends.loading import load_engine

        return load_engine(cls, settings or EngineSettings())

    def compile(self, backend: str = "inductor") -> None:
        """Wrap the denoiser in ``torch.compile``; the compile itself happens on the first call
        (:meth:`warm_up`)."""
        setattr(self.pipe, self.denoiser, torch.compile(getattr(self.pipe, self.denoiser), backend=backend))
        self.compiled = True

    # --- batching and memory -------------------------------------------------------------------

    def batch_key(self, request: GenerationRequest) -> Hashable:
        """Steps, duration, guidance and sampler: one latent shape, one loop, one timing
        conditioning (Stable Audio takes a single ``audio_end_in_s`` per call)."""
        return request.batch_key()

    def denoised_seconds(self, duration_s: float) -> float:
        """Seconds of audio denoised for a clip of ``duration_s``: by default the family's rule
        (:meth:`generation.backends.registry.ModelFamily.denoised_seconds`), the clip rounded up to
        whole latent frames."""
        return family_by_key(self.family).denoised_seconds(duration_s)

    def warm_up(self, request: GenerationRequest, batch_sizes: Sequence[int] = (1,)) -> float:
        """Run ``request`` for :data:`WARM_UP_STEPS` steps at each batch size; returns seconds.

        Pays the ``torch.compile`` cost (and CUDA's lazy initialisation) before any user's job,
        and measures the GPU memory one request needs, which sizes the automatic batch.
        """
        started = time.perf_counter()
        probe = dataclasses.replace(request, steps=WARM_UP_STEPS)
        for size in batch_sizes:
            cuda = self.device.type == "cuda"
            if cuda:
                torch.cuda.synchronize(self.device)
                torch.cuda.reset_peak_memory_stats(self.device)
                before = torch.cuda.memory_allocated(self.device)
            self.generate([probe.with_seed(i) for i in range(size)], paced=False)
            if cuda:
                used = torch.cuda.max_memory_allocated(self.device) - before
                per_item = used / size / self.denoised_seconds(probe.duration_s)
                self._item_bytes_per_s = max(self._item_bytes_per_s or 0.0, per_item)
        return time.perf_counter() - started

    def max_batch(self, duration_s: float) -> int:
        """How many requests of ``duration_s`` seconds fit one call, from free GPU memory.

        On CUDA: the free memory (:data:`BATCH_MEMORY_SHARE` of it) over what one request was
        measured to need in :meth:`warm_up`, capped at :data:`MAX_AUTO_BATCH`. Elsewhere, or
        before a warm-up: :data:`DEFAULT_AUTO_BATCH`.
        """
        if self.device.type != "cuda" or not self._item_bytes_per_s:
            return DEFAULT_AUTO_BATCH
        free, _total = torch.cuda.mem_get_info(self.device)
        need = self._item_bytes_per_s * self.denoised_seconds(duration_s)
        return max(1, min(MAX_AUTO_BATCH, int(free * BATCH_MEMORY_SHARE / need)))

    def free_memory(self) -> None:
        """Release cached accelerator memory after a failure."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # --- generating ----------------------------------------------------------------------------

    def scheduler(self, name: str) -> object:
        """The scheduler instance the sampler ``name`` runs with (made once, then reused)."""
        if name not in SCHEDULERS:
            raise GenerationError(f"unknown scheduler {name!r}")
        if name not in self._schedulers:
            self._schedulers[name] = self._make_scheduler(name, dict(self._schedulers["default"].config))
        return self._schedulers[name]

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        progress: ProgressCallback | None = None,
        waveforms_per_request: int = 1,
        paced: bool = True,
    ) -> list[np.ndarray]:
        """Generate one pipeline call for ``requests`` (which must share :meth:`batch_key`).

        Returns ``len(requests) * waveforms_per_request`` float32 waveforms (see
        :mod:`generation.backends.base`), grouped by request. Each gets its own CPU
        ``torch.Generator`` seeded from its request, so a request's audio does not depend on what
        else is in the batch. ``progress`` may raise :class:`Cancelled` to stop between steps.
        ``paced=False`` skips the test-only pacing (the warm-up at start is never held).
        """
        if not requests:
            return []
        key = self.batch_key(requests[0])
        if any(self.batch_key(r) != key for r in requests):
            raise GenerationError("a batch must share steps, duration, guidance and scheduler")
        first = requests[0]
        if first.duration_s > self.max_duration_s:
            raise GenerationError(
                f"{self.model_name} makes clips of up to {self.max_duration_s:g} s; "
                f"{first.duration_s:g} s was asked"
            )
        self.pipe.scheduler = self.scheduler(first.scheduler)
        generators = [
            torch.Generator("cpu").manual_seed(r.seed + i)
            for r in requests
            for i in range(waveforms_per_request)
        ]
        total = first.steps
        pacing = self.pacing if paced and self.pacing.active else None
        texts = [r.user_text for r in requests]

        def on_step(index: int) -> None:
            report = (lambda: progress(index + 1, total)) if progress is not None else (lambda: None)
            report()
            if pacing is not None:
                pacing.after_step(texts, report)

        try:
            with torch.inference_mode():
                audios = self._run(requests, generators, waveforms_per_request, on_step)
        except Cancelled:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                self.free_memory()
                raise OutOfMemory(
                    f"Out of memory generating {len(requests)} × {first.duration_s:g}s on {self.device}"
                ) from exc
            raise GenerationError(f"{type(exc).__name__}: {exc}") from exc
        return self._waveforms(audios)

    def _waveforms(self, audios: np.ndarray) -> list[np.ndarray]:
        """The pipeline's ``(B, N)`` or ``(B, C, N)`` output as the waveform layout of the base module."""
        batch = np.asarray(audios, dtype=np.float32)
        if batch.ndim == 2:
            return [batch[i] for i in range(batch.shape[0])]
        if batch.shape[1] == 1:
            return [batch[i, 0] for i in range(batch.shape[0])]
        return [np.ascontiguousarray(batch[i].T) for i in range(batch.shape[0])]

    # --- best-of-N -----------------------------------------------------------------------------

    def clap_scores(self, text: str, waveforms: Sequence[np.ndarray]) -> list[float]:
        """CLAP similarity of each waveform to ``text`` (see :mod:`generation.recipes.ranking`)."""
        from generation.recipes.ranking import clap_scores

        return clap_scores(self.clap(), text, waveforms, self.sample_rate, self.device)

    def generate_ranked(
        self, request: GenerationRequest, candidates: int, *, progress: ProgressCallback | None = None
    ) -> RankedCandidates:
        """Best-of-N: ``candidates`` (1-4) waveforms of ``request``, ranked best first by CLAP.

        See :func:`generation.recipes.ranking.generate_ranked`.
        """
        from generation.recipes.ranking import generate_ranked

        return generate_ranked(self, request, candidates, progress=progress)
