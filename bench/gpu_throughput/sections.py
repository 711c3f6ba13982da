"""The sections: the naive baseline, the engine's batches, cache, fast quality, compile, window."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bench.gpu_throughput.measure import (
    compiled_graphs,
    make_row,
    reset_peak_memory,
    timed,
    timed_calls,
)
from bench.gpu_throughput.report import add_row, log_progress
from bench.gpu_throughput.workload import make_requests, rerolls

if TYPE_CHECKING:
    import numpy as np

    from bench.gpu_throughput.measure import Context, Row
    from generation.backends.diffusers_engine import DiffusersEngine as AudioEngine
    from generation.request import GenerationRequest

#: The engine's production cache size; 0 disables the cache.
PROMPT_CACHE_SIZE = 64


def run_baseline(ctx: Context) -> None:
    """The library's own usage: prompt strings, one request per call, default scheduler."""
    settings, pipe = ctx.settings, ctx.pipe
    pipe.scheduler = ctx.default_scheduler
    requests = make_requests(settings, settings.baseline_clips, quality="standard")

    def naive(request: GenerationRequest) -> np.ndarray:
        return ctx.subject.naive(pipe, request, settings.steps, settings.duration)

    reset_peak_memory(ctx.device)
    naive(requests[0])  # untimed warm-up
    calls = [lambda r=request: naive(r) for _ in range(settings.repeats) for request in requests]
    call_seconds, finite, denoiser = timed_calls(ctx, calls)
    add_row(
        ctx,
        make_row(
            ctx,
            section="baseline",
            label="naive pipeline, one prompt per call",
            batch_size=1,
            scheduler=f"default ({type(ctx.default_scheduler).__name__})",
            steps=settings.steps,
            prompt_cache="n/a",
            compiled=False,
            call_seconds=call_seconds,
            clips=len(call_seconds),
            finite=finite,
            denoiser_seconds=denoiser,
        ),
    )


def _engine(ctx: Context, cache_size: int) -> AudioEngine:
    ctx.pipe.scheduler = ctx.default_scheduler  # the engine takes the pipeline's scheduler as "default"
    engine_class = ctx.subject.engine_class()
    name = ctx.subject.full_name if ctx.settings.model == "full" else engine_class.tiny_id
    return engine_class(ctx.pipe, model_name=name, device=ctx.device, prompt_cache_size=cache_size)


def measure_engine(
    ctx: Context,
    engine: AudioEngine,
    *,
    section: str,
    label: str,
    batch_size: int,
    quality: str,
    prompt_cache: str,
) -> Row:
    """One batch size: an untimed call (it also warms the cache), then timed rerolls."""
    settings = ctx.settings
    requests = make_requests(settings, batch_size, quality=quality)
    reset_peak_memory(ctx.device)
    engine.generate(requests)  # untimed: warms the cache and any shape-specific compile
    hits, misses = engine.prompts.hits, engine.prompts.misses
    graphs = compiled_graphs()
    batches = [rerolls(requests, round_) for round_ in range(1, settings.repeats + 1)]
    call_seconds, finite, denoiser = timed_calls(ctx, [lambda b=b: engine.generate(b) for b in batches])
    first = requests[0]
    row = make_row(
        ctx,
        section=section,
        label=label,
        batch_size=batch_size,
        scheduler=_scheduler_label(engine, first.scheduler),
        steps=first.steps,
        prompt_cache=prompt_cache,
        compiled=engine.compiled,
        call_seconds=call_seconds,
        clips=batch_size * settings.repeats,
        finite=finite,
        denoiser_seconds=denoiser,
    )
    row.cache_hits = engine.prompts.hits - hits
    row.cache_misses = engine.prompts.misses - misses
    if engine.compiled and graphs is not None:
        row.graphs_compiled_while_timed = (compiled_graphs() or 0) - graphs
    return row


def _sweep(
    ctx: Context, engine: AudioEngine, *, section: str, label: str, quality: str, prompt_cache: str
) -> None:
    for size in ctx.settings.batches:
        add_row(
            ctx,
            measure_engine(
                ctx,
                engine,
                section=section,
                label=label,
                batch_size=size,
                quality=quality,
                prompt_cache=prompt_cache,
            ),
        )


def run_batch(ctx: Context) -> None:
    """The engine with the prompt cache off: every request encodes its prompts."""
    _sweep(
        ctx,
        _engine(ctx, 0),
        section="batch",
        label="engine, cache off",
        quality="standard",
        prompt_cache="off",
    )


def run_cache(ctx: Context) -> None:
    """The engine with a warm prompt cache: rerolls skip CLAP, T5 and GPT-2."""
    _sweep(
        ctx,
        _engine(ctx, PROMPT_CACHE_SIZE),
        section="cache",
        label="engine, warm cache",
        quality="standard",
        prompt_cache="warm",
    )


def run_fast(ctx: Context) -> None:
    """The engine's fast quality (DPM-Solver++), warm cache."""
    _sweep(
        ctx,
        _engine(ctx, PROMPT_CACHE_SIZE),
        section="fast",
        label="engine, fast quality, warm cache",
        quality="fast",
        prompt_cache="warm",
    )


def run_compile(ctx: Context) -> None:
    """The engine with a compiled denoiser; compile and warm-up time are reported, not timed in."""
    settings = ctx.settings
    engine = _engine(ctx, PROMPT_CACHE_SIZE)
    engine.compile(settings.compile_backend)
    probe = make_requests(settings, 1, quality="standard")[0]
    warm_up_s, _ = timed(ctx.device, lambda: engine.warm_up(probe, settings.batches))
    ctx.report.setdefault("compile", {})[ctx.subject.key] = {
        "backend": settings.compile_backend,
        "warm_up_batch_sizes": list(settings.batches),
        "compile_and_warm_up_seconds": round(warm_up_s, 2),
    }
    log_progress(
        f"compile + warm-up ({settings.compile_backend}, batches {settings.batches}): {warm_up_s:.1f}s"
    )
    _sweep(
        ctx,
        engine,
        section="compile",
        label="engine, compiled denoiser, warm cache",
        quality="standard",
        prompt_cache="warm",
    )
    if "fast" in settings.sections:
        _sweep(
            ctx,
            engine,
            section="compile",
            label="engine, compiled denoiser, fast quality, warm cache",
            quality="fast",
            prompt_cache="warm",
        )


@contextlib.contextmanager
def _window(pipe: Any, latents: int) -> Iterator[None]:
    """Stable Audio Open's DiT window set to ``latents`` for the duration of the block."""
    full = pipe.transformer.config.sample_size
    pipe.transformer.register_to_config(sample_size=latents)
    try:
        yield
    finally:
        pipe.transformer.register_to_config(sample_size=full)


def run_window(ctx: Context) -> None:
    """Stable Audio Open only: the naive call at the fixed window vs with the window fitted to the
    clip. Speed only: with random weights the quality of a shorter window cannot be judged."""
    from bench.subjects import fitted_window_latents

    settings, pipe = ctx.settings, ctx.pipe
    pipe.scheduler = ctx.default_scheduler
    request = make_requests(settings, 1, quality="standard")[0]
    hop_s = pipe.vae.hop_length / pipe.vae.config.sampling_rate
    for latents in (pipe.transformer.config.sample_size, fitted_window_latents(pipe, settings.duration)):
        with _window(pipe, latents):
            reset_peak_memory(ctx.device)
            ctx.subject.naive(pipe, request, settings.steps, settings.duration)  # untimed warm-up
            calls = [
                lambda: ctx.subject.naive(pipe, request, settings.steps, settings.duration)
            ] * settings.repeats
            call_seconds, finite, denoiser = timed_calls(ctx, calls)
        add_row(
            ctx,
            make_row(
                ctx,
                section="window",
                label=f"naive pipeline, {latents * hop_s:.2f} s window",
                batch_size=1,
                scheduler=f"default ({type(ctx.default_scheduler).__name__})",
                steps=settings.steps,
                prompt_cache="n/a",
                compiled=False,
                call_seconds=call_seconds,
                clips=len(call_seconds),
                finite=finite,
                denoiser_seconds=denoiser,
            ),
        )


RUNNERS: dict[str, Callable[[Context], None]] = {
    "baseline": run_baseline,
    "batch": run_batch,
    "cache": run_cache,
    "fast": run_fast,
    "compile": run_compile,
    "window": run_window,
}


def _scheduler_label(engine: AudioEngine, name: str) -> str:
    """A request's sampler name with the class that runs it ("default (DDIMScheduler)")."""
    return f"{name} ({type(engine.scheduler(name)).__name__})"
