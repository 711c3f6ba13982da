"""The AudioLDM2 engine: loads the pipeline once and turns batches of requests into waveforms.

The engine is not thread-safe by design: exactly one thread (the GPU executor's) owns it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from generation.backends.audioldm2.conditioning import PromptEncoder
from generation.backends.audioldm2.tiny import TINY_MODEL_ID, build_tiny_pipeline
from generation.backends.pacing import TestPacing
from generation.errors import Cancelled, GenerationError, ModelUnavailable, OutOfMemory
from generation.request import SCHEDULERS, GenerationRequest
from generation.settings import EngineSettings, model_display_name

if TYPE_CHECKING:
    from diffusers import AudioLDM2Pipeline

    from generation.recipes.ranking import RankedCandidates

log = logging.getLogger(__name__)

#: GPUs with less memory than this get accelerate's model CPU offload when offload is "auto".
OFFLOAD_BELOW_BYTES = 12 * 1024**3
#: The real checkpoint's GPT-2 generates 8 "audio tokens"; the pipeline needs it in the config.
DEFAULT_MAX_NEW_TOKENS = 8
#: Upper bound of the automatic batch size (beyond it throughput stops improving on an H100).
MAX_AUTO_BATCH = 8
#: Automatic batch size where memory cannot be measured (CPU, MPS).
DEFAULT_AUTO_BATCH = 4
#: Share of the free GPU memory the automatic batch size may plan to use.
BATCH_MEMORY_SHARE = 0.8
#: The warm-up clip: the usual duration, two steps (enough to compile and to measure memory).
WARM_UP_DURATION_S = 10.0
WARM_UP_STEPS = 2

ProgressCallback = Callable[[int, int], None]
"""Called with (steps done, total steps) after each denoising step, on the engine's thread."""

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def resolve_device(device: str | None) -> torch.device:
    """The requested device, or CUDA when present, else the CPU."""
    if device:
        resolved = torch.device(device)
        if resolved.type == "cuda" and not torch.cuda.is_available():
            raise ModelUnavailable(f"Device {device!r} was asked for, but no CUDA GPU is available.")
        return resolved
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    """float16 on CUDA, float32 elsewhere, unless overridden."""
    if dtype:
        return _DTYPES[dtype]
    return torch.float16 if device.type == "cuda" else torch.float32


def _load_pretrained(model_id: str, dtype: torch.dtype) -> AudioLDM2Pipeline:
    """Load a hub checkpoint or a local folder saved with ``save_pretrained``."""
    from diffusers import AudioLDM2Pipeline
    from transformers import GPT2LMHeadModel

    # The checkpoint stores its language model as GPT2Model, which under transformers 5 has no
    # generation helpers; GPT2LMHeadModel loads the same weights (the LM head is unused) and
    # gives identical hidden states. dtype is explicit because the hub CLAP config says float64.
    language_model = GPT2LMHeadModel.from_pretrained(model_id, subfolder="language_model", dtype=dtype)
    if getattr(language_model.config, "max_new_tokens", None) is None:
        language_model.config.max_new_tokens = DEFAULT_MAX_NEW_TOKENS
    return AudioLDM2Pipeline.from_pretrained(model_id, language_model=language_model, torch_dtype=dtype)


def _model_unavailable(model_id: str, exc: BaseException) -> ModelUnavailable:
    where = "folder" if Path(model_id).expanduser().exists() else "model"
    return ModelUnavailable(
        f"Could not load {where} {model_id!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). "
        "Without internet access use --model tiny or the path of a downloaded checkpoint folder."
    )


def _make_scheduler(name: str, base_config: dict) -> object:
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if name == "dpm++":
        return DPMSolverMultistepScheduler.from_config(
            base_config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True
        )
    if name == "ddim":
        return DDIMScheduler.from_config(base_config)
    raise ValueError(f"unknown scheduler {name!r}")


def use_sdpa_attention(pipe: AudioLDM2Pipeline) -> str:
    """Make sure the UNet runs PyTorch's fused scaled-dot-product attention; returns its name.

    diffusers picks it by default on PyTorch 2; this guards against a checkpoint or an older
    code path that set the classic (memory-hungry) processor.
    """
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    processors = pipe.unet.attn_processors.values()
    if any(type(p) is AttnProcessor for p in processors):
        pipe.unet.set_attn_processor(AttnProcessor2_0())
    names = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()})
    return "sdpa" if names == ["AttnProcessor2_0"] else "+".join(names)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM and for the CPU allocator's "can't allocate memory"."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


class AudioEngine:
    """Owns one loaded AudioLDM2 pipeline and generates batches of compatible requests."""

    def __init__(
        self,
        pipe: AudioLDM2Pipeline,
        *,
        model_name: str,
        device: torch.device,
        prompt_cache_size: int = 64,
        pacing: TestPacing | None = None,
    ) -> None:
        self.pipe = pipe
        self.pacing = pacing or TestPacing()
        """Test-only waits after each step (the tiny model only; see :mod:`generation.backends.pacing`)."""
        self.prompts = PromptEncoder(pipe, device, cache_size=prompt_cache_size)
        self.model_name = model_name
        self.device = device
        self.dtype = pipe.unet.dtype
        self.sample_rate = int(pipe.vocoder.config.sampling_rate)
        self._schedulers: dict[str, object] = {"default": pipe.scheduler}
        self.compiled = False
        self._item_bytes_per_s: float | None = None
        """GPU memory one request needs per second of audio, measured by :meth:`warm_up`."""

    @classmethod
    def load(cls, settings: EngineSettings | None = None) -> AudioEngine:
        """Load the model named by ``settings``; raises :class:`ModelUnavailable` with one clear line."""
        settings = settings or EngineSettings()
        started = time.perf_counter()
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.dtype, device)
        if settings.model_id == TINY_MODEL_ID:
            pipe = build_tiny_pipeline()
            if dtype != torch.float32:
                pipe.to(dtype=dtype)
        else:
            try:
                pipe = _load_pretrained(settings.model_id, dtype)
            except Exception as exc:  # OSError, hub HTTP/validation errors, bad folder layouts
                raise _model_unavailable(settings.model_id, exc) from exc
        attention = use_sdpa_attention(pipe)
        offload = settings.offload == "on" or (
            settings.offload == "auto"
            and device.type == "cuda"
            and torch.cuda.get_device_properties(device).total_memory < OFFLOAD_BELOW_BYTES
        )
        if offload and device.type == "cuda":
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        log.info(
            "model %s loaded on %s (%s, offload=%s, attention=%s) in %.1fs",
            settings.model_id,
            device,
            str(dtype).removeprefix("torch."),
            offload,
            attention,
            time.perf_counter() - started,
        )
        pacing = None
        if settings.model_id == TINY_MODEL_ID:
            pacing = TestPacing(
                settings.test_hold_file, settings.test_step_delay_ms / 1000, settings.test_fail_file
            )
        engine = cls(
            pipe,
            model_name=model_display_name(settings.model_id),  # never a folder's full path
            device=device,
            prompt_cache_size=settings.prompt_cache_size,
            pacing=pacing,
        )
        if settings.compile:
            engine.compile_unet(settings.compile_backend)
        return engine

    def compile_unet(self, backend: str = "inductor") -> None:
        """Wrap the UNet in ``torch.compile``; the compile itself happens on the first call
        (:meth:`warm_up`). Shapes vary with batch size and duration, so they are marked dynamic
        on the second shape seen rather than recompiling for each."""
        self.pipe.unet = torch.compile(self.pipe.unet, backend=backend)
        self.compiled = True

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
                per_item = used / size / probe.duration_s
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
        fits = int(free * BATCH_MEMORY_SHARE / (self._item_bytes_per_s * duration_s))
        return max(1, min(MAX_AUTO_BATCH, fits))

    def _scheduler(self, name: str) -> object:
        if name not in SCHEDULERS:
            raise GenerationError(f"unknown scheduler {name!r}")
        if name not in self._schedulers:
            self._schedulers[name] = _make_scheduler(name, self._schedulers["default"].config)
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

        Returns ``len(requests) * waveforms_per_request`` float32 mono arrays, grouped by request.
        Each item gets its own CPU ``torch.Generator`` seeded from its request, so a request's
        audio does not depend on what else is in the batch. ``progress`` may raise
        :class:`Cancelled` to stop between steps. ``paced=False`` skips the test-only pacing (the
        warm-up at start is never held).
        """
        if not requests:
            return []
        key = requests[0].batch_key()
        if any(r.batch_key() != key for r in requests):
            raise GenerationError("a batch must share steps, duration, guidance and scheduler")
        first = requests[0]
        self.pipe.scheduler = self._scheduler(first.scheduler)
        generators = [
            torch.Generator("cpu").manual_seed(r.seed + i)
            for r in requests
            for i in range(waveforms_per_request)
        ]
        total = first.steps
        pacing = self.pacing if paced and self.pacing.active else None
        texts = [r.user_text for r in requests]

        def on_step(step: int, _timestep: object, _latents: object) -> None:
            report = (lambda: progress(step + 1, total)) if progress is not None else (lambda: None)
            report()
            if pacing is not None:
                pacing.after_step(texts, report)

        guided = first.guidance > 1.0
        try:
            with torch.inference_mode():
                conditioning = self.prompts.batch(
                    [r.prompt for r in requests], [r.negative_prompt for r in requests] if guided else None
                )
                output = self.pipe(
                    **conditioning.kwargs,
                    num_inference_steps=first.steps,
                    audio_length_in_s=first.duration_s,
                    guidance_scale=first.guidance,
                    num_waveforms_per_prompt=waveforms_per_request,
                    generator=generators,
                    callback=on_step,
                    callback_steps=1,
                    output_type="np",
                )
        except Cancelled:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                self.free_memory()
                raise OutOfMemory(
                    f"Out of memory generating {len(requests)} × {first.duration_s:g}s on {self.device}"
                ) from exc
            raise GenerationError(f"{type(exc).__name__}: {exc}") from exc
        audios = np.asarray(output.audios, dtype=np.float32)
        return [audios[i] for i in range(audios.shape[0])]

    def generate_ranked(
        self, request: GenerationRequest, candidates: int, *, progress: ProgressCallback | None = None
    ) -> RankedCandidates:
        """Best-of-N: ``candidates`` (1-4) waveforms of ``request``, ranked best first by CLAP.

        See :func:`generation.recipes.ranking.generate_ranked`.
        """
        from generation.recipes.ranking import generate_ranked

        return generate_ranked(self, request, candidates, progress=progress)

    def free_memory(self) -> None:
        """Release cached accelerator memory after a failure."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
