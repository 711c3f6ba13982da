"""The backend interface: what every text-to-audio model family offers the rest of ``generation/``.

A backend owns one loaded pipeline on one device and turns batches of
:class:`~generation.request.GenerationRequest` into waveforms. The executor, the recipes
(best-of-N, layers, long renders, loops) and the CLI only ever use this surface, so a family is
added by implementing it (most do so through
:class:`generation.backends.diffusers_engine.DiffusersEngine`) and registering it in
:mod:`generation.backends.registry`.

Waveforms — the one convention everything after the model relies on:

* float32 numpy arrays, time along axis 0, at :attr:`Backend.sample_rate`;
* mono (``channels == 1``, AudioLDM2 at 16 kHz) is 1-D: ``(samples,)``;
* stereo (``channels == 2``, Stable Audio at 44.1 kHz) is ``(samples, 2)``, left then right.

Threading: a backend is not thread-safe; exactly one thread (the GPU executor's) uses it. The
progress callback runs on that thread after every denoising step and may raise
:class:`generation.errors.Cancelled` to stop between steps.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

    from generation.backends.pacing import TestPacing
    from generation.recipes.ranking import RankedCandidates
    from generation.request import GenerationRequest

ProgressCallback = Callable[[int, int], None]
"""Called with (steps done, total steps) after each denoising step, on the backend's thread."""


class PromptCache(Protocol):
    """A backend's cached text encodings: a reroll or a variation of a known prompt skips the
    text encoders. ``encode`` returns the family's own conditioning object."""

    hits: int
    misses: int

    def encode(self, text: str) -> object: ...

    def clear(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """One loaded model. Attributes are read-only for callers."""

    family: str
    """Registry key of the model family ("audioldm2", "stable-audio-open", "stable-audio-3")."""
    model_name: str
    """The model id it was loaded from (hub id, folder or built-in name): what tags and cards show."""
    device: torch.device
    dtype: torch.dtype
    sample_rate: int
    channels: int
    """1 (waveforms shaped ``(samples,)``) or 2 (``(samples, 2)``)."""
    max_duration_s: float
    """The longest clip one call can make."""
    prompts: PromptCache
    pacing: TestPacing
    """Test-only waits after each step; active only on the built-in tiny models."""
    compiled: bool

    def batch_key(self, request: GenerationRequest) -> Hashable:
        """Requests with equal keys can share one :meth:`generate` call."""
        ...

    def denoised_seconds(self, duration_s: float) -> float:
        """Seconds of audio the model actually denoises for a clip of ``duration_s`` (its cost):
        the clip itself, or a fixed window the pipeline crops afterwards."""
        ...

    def max_batch(self, duration_s: float) -> int:
        """How many clips of ``duration_s`` fit one call (from measured memory on CUDA)."""
        ...

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        progress: ProgressCallback | None = None,
        waveforms_per_request: int = 1,
        paced: bool = True,
    ) -> list[np.ndarray]:
        """One pipeline call for ``requests`` (equal :meth:`batch_key`): ``len(requests) *
        waveforms_per_request`` waveforms, grouped by request. A request's audio depends only on
        the request (its seed), never on what else shares the batch."""
        ...

    def generate_ranked(
        self, request: GenerationRequest, candidates: int, *, progress: ProgressCallback | None = None
    ) -> RankedCandidates:
        """Best-of-N: ``candidates`` takes of ``request`` (seeds ``seed``…), ranked best first."""
        ...

    def clap_scores(self, text: str, waveforms: Sequence[np.ndarray]) -> list[float]:
        """CLAP similarity of each waveform to ``text`` (what best-of-N ranks by)."""
        ...

    def warm_up(self, request: GenerationRequest, batch_sizes: Sequence[int] = (1,)) -> float:
        """A short run of ``request`` per batch size before any user's job; returns seconds."""
        ...

    def free_memory(self) -> None:
        """Release cached accelerator memory (after a failure)."""
        ...
