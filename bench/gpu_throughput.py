"""Throughput of the full-size models: the library's naive usage vs the AmbientGen backends.

Measures, in one run, for each model (``--models``: AudioLDM2 and Stable Audio Open by default,
one pipeline object each, built and measured one after the other), seconds per clip and clips
per minute for:

- ``baseline``: the pipeline called with prompt strings, one request at a time, with the
  checkpoint's scheduler (the library's documented usage);
- ``batch``: the engine, batches of different prompts, prompt cache off;
- ``cache``: the engine with a warm prompt cache (rerolls of known prompts);
- ``fast``: the engine's "fast" quality (DPM-Solver++, half the steps), warm cache;
- ``compile``: the engine after ``torch.compile`` of the denoiser (compile time reported apart),
  with the standard and, when ``fast`` is selected, the fast scheduler;
- ``window`` (Stable Audio Open only): the naive call at the pipeline's fixed 47.55 s window
  against the same call with the window fitted to the clip (what a shorter window would save).

Each configuration gets one untimed warm-up call, then ``--repeats`` timed calls bracketed by
``torch.cuda.synchronize()``. Peak GPU memory is reset per configuration (on the CPU, the peak
resident set size instead). The JSON/markdown files are rewritten after every configuration, so
a run cut short keeps what it measured. Run from the repository root on the GPU machine (the
default run is sized for about 8 minutes on one H100; ``--only`` splits it)::

    python -m bench.gpu_throughput --output results.json --markdown results.md

Heavy imports (torch, diffusers) are deferred so that ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

    from bench.subjects import Subject
    from generation.backends.diffusers_engine import DiffusersEngine as AudioEngine
    from generation.request import GenerationRequest

SECTIONS: tuple[str, ...] = ("baseline", "batch", "cache", "fast", "compile", "window")
#: The models measured by default, side by side.
DEFAULT_MODELS: tuple[str, ...] = ("audioldm2", "stable-audio-open")
#: The engine's production cache size; 0 disables the cache.
PROMPT_CACHE_SIZE = 64
#: Clips the baseline renders per repeat (one at a time), capped by the largest batch.
DEFAULT_BASELINE_CLIPS = 4
_MIB = 1024**2


@dataclass(frozen=True)
class Settings:
    """Everything the run was asked for (recorded verbatim in the results)."""

    model: str
    """"full" (the published architectures) or "tiny" (the built-in test models)."""
    models: tuple[str, ...]
    """Model families measured, in order."""
    device: str
    dtype: str
    duration: float
    steps: int
    fast_steps: int
    batches: tuple[int, ...]
    repeats: int
    baseline_clips: int
    sections: tuple[str, ...]
    compile: bool
    compile_backend: str
    seed: int
    output: str | None
    markdown: str | None


@dataclass
class Row:
    """One measured configuration."""

    section: str
    label: str
    model: str
    """The family key of the model measured."""
    batch_size: int
    scheduler: str
    steps: int
    prompt_cache: str
    compiled: bool
    clips: int
    call_seconds: list[float]
    seconds_per_clip: float
    clips_per_minute: float
    vs_baseline: float | None
    peak_gpu_mib: float | None
    peak_rss_mib: float | None
    cache_hits: int | None = None
    cache_misses: int | None = None
    graphs_compiled_while_timed: int | None = None
    """torch.compile graphs built during the timed calls (should be 0: recompiles belong to warm-up)."""
    finite_output: bool = True
    denoiser_seconds_per_step: float | None = None
    """Time inside the denoiser (UNet or DiT, the guided pair) per step of one timed call."""
    fixed_seconds_per_clip: float | None = None
    """Everything else per clip: text encoders, VAE decode, vocoder, scheduler, copies. With the
    per-step time it gives the cost at any step count: fixed + steps × per step / batch."""


@dataclass
class Context:
    """The loaded model and the state shared by the sections."""

    settings: Settings
    subject: Subject
    pipe: Any
    device: torch.device
    default_scheduler: object
    report: dict[str, Any]
    rows: list[Row] = field(default_factory=list)


# --------------------------------------------------------------------------- command line


def _csv_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _models(text: str) -> tuple[str, ...]:
    from bench.subjects import SUBJECTS

    chosen = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in chosen if m not in SUBJECTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown model(s) {unknown}; choose from {','.join(SUBJECTS)}")
    return chosen


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown section(s) {unknown}; choose from {','.join(SECTIONS)}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gpu_throughput",
        description="Clips per minute of each model: the naive pipeline vs the AmbientGen backend.",
    )
    parser.add_argument(
        "--model",
        choices=("full", "tiny"),
        default="full",
        help="full: the published architectures with random weights; tiny: the built-in test models",
    )
    parser.add_argument(
        "--models",
        type=_models,
        default=DEFAULT_MODELS,
        help=f"comma-separated model families, measured in turn (default {','.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda when available)")
    parser.add_argument(
        "--dtype",
        choices=("float16", "bfloat16", "float32"),
        default=None,
        help="default: float16 on CUDA, float32 on the CPU",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="clip length in seconds (default 10)")
    parser.add_argument(
        "--steps", type=int, default=50, help="denoising steps, standard quality (default 50)"
    )
    parser.add_argument(
        "--fast-steps",
        type=int,
        default=None,
        help="steps of the fast quality (default: half of --steps, 25 for 50)",
    )
    parser.add_argument(
        "--batches", type=_csv_ints, default=(1, 2, 4, 8), help="batch sizes (default 1,2,4,8)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per configuration (default 2)")
    parser.add_argument(
        "--baseline-clips",
        type=int,
        default=None,
        help=f"clips per baseline repeat (default {DEFAULT_BASELINE_CLIPS}, at most the largest batch)",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        default=SECTIONS,
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the torch.compile section (default: on with CUDA, off on the CPU)",
    )
    parser.add_argument(
        "--compile-backend", default="inductor", help="torch.compile backend (default inductor)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and the requests")
    parser.add_argument("--output", default=None, help="write the results as JSON here")
    parser.add_argument("--markdown", default=None, help="write the results as a markdown report here")
    return parser


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    """Parse the command line; device and dtype are resolved to concrete names."""
    parser = build_parser()
    args = parser.parse_args(argv)  # before the heavy imports, so --help and errors are instant
    if args.steps < 1 or args.repeats < 1 or args.duration <= 0:
        parser.error("--steps and --repeats must be at least 1, --duration positive")

    from generation.backends.audioldm2.engine import resolve_device, resolve_dtype
    from generation.presets import DEFAULT_STEPS
    from generation.request import FAST_STEPS

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    fast_steps = args.fast_steps or max(2, round(args.steps * FAST_STEPS / DEFAULT_STEPS))
    baseline_clips = args.baseline_clips or min(DEFAULT_BASELINE_CLIPS, max(args.batches))
    return Settings(
        model=args.model,
        models=args.models,
        device=str(device),
        dtype=str(dtype).removeprefix("torch."),
        duration=args.duration,
        steps=args.steps,
        fast_steps=fast_steps,
        batches=args.batches,
        repeats=args.repeats,
        baseline_clips=baseline_clips,
        sections=args.only,
        # Inductor compiling the full UNet on a CPU takes many minutes: opt-in there.
        compile=device.type == "cuda" if args.compile is None else args.compile,
        compile_backend=args.compile_backend,
        seed=args.seed,
        output=args.output,
        markdown=args.markdown,
    )


# --------------------------------------------------------------------------- measuring


def _sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` takes, with the device's queue drained before and after."""
    _sync(device)
    started = time.perf_counter()
    result = fn()
    _sync(device)
    return time.perf_counter() - started, result


def _clear_rss_peak() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (GPU allocator peak, or the process's peak RSS)."""
    import torch

    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        _clear_rss_peak()


def peak_memory(device: torch.device) -> tuple[float | None, float | None]:
    """(peak GPU MiB allocated, peak RSS MiB) since :func:`reset_peak_memory`; None where n/a."""
    import torch

    _sync(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / _MIB, None
    return None, _rss_peak_mib()


def _compiled_graphs() -> int | None:
    """Graphs ``torch.compile`` has built in this process (a private counter; None if it moved)."""
    try:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
    except (ImportError, KeyError, TypeError):
        return None


def _all_finite(audios: Sequence[np.ndarray]) -> bool:
    import numpy as np

    return all(bool(np.isfinite(a).all()) for a in audios)


class DenoiserClock:
    """Seconds spent inside the denoiser's forward calls while :attr:`running` (hooks; on CUDA
    each call is bracketed by a synchronize, so the figure is the kernels' time)."""

    def __init__(self, module: torch.nn.Module, device: torch.device) -> None:
        self.seconds = 0.0
        self.running = False
        self._device = device
        self._started = 0.0
        self._hooks = [module.register_forward_pre_hook(self._pre), module.register_forward_hook(self._post)]

    def _pre(self, *_args: object) -> None:
        if self.running:
            _sync(self._device)
            self._started = time.perf_counter()

    def _post(self, *_args: object) -> None:
        if self.running:
            _sync(self._device)
            self.seconds += time.perf_counter() - self._started

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()


@contextlib.contextmanager
def denoiser_clock(ctx: Context) -> Iterator[DenoiserClock]:
    """A :class:`DenoiserClock` on the pipeline's denoiser; set ``running`` around timed calls."""
    clock = DenoiserClock(getattr(ctx.pipe, ctx.subject.denoiser), ctx.device)
    try:
        yield clock
    finally:
        clock.close()


def _timed_calls(ctx: Context, calls: Sequence[Callable[[], Any]]) -> tuple[list[float], bool, float]:
    """Each call timed (after the untimed warm-up the caller made): (seconds, all finite, seconds
    inside the denoiser)."""
    call_seconds, finite = [], True
    with denoiser_clock(ctx) as clock:
        for call in calls:
            clock.running = True
            seconds, audio = timed(ctx.device, call)
            clock.running = False
            call_seconds.append(seconds)
            finite = finite and _all_finite(audio if isinstance(audio, list) else [audio])
    return call_seconds, finite, clock.seconds


def make_row(
    ctx: Context,
    *,
    section: str,
    label: str,
    batch_size: int,
    scheduler: str,
    steps: int,
    prompt_cache: str,
    compiled: bool,
    call_seconds: list[float],
    clips: int,
    finite: bool,
    denoiser_seconds: float | None = None,
) -> Row:
    """A row from measured call times; throughput is relative to the baseline when measured."""
    gpu, rss = peak_memory(ctx.device)
    per_clip = sum(call_seconds) / clips
    per_minute = 60.0 / per_clip
    baseline = next((r for r in ctx.rows if r.section == "baseline" and r.model == ctx.subject.key), None)
    return Row(
        section=section,
        label=label,
        model=ctx.subject.key,
        batch_size=batch_size,
        scheduler=scheduler,
        steps=steps,
        prompt_cache=prompt_cache,
        compiled=compiled,
        clips=clips,
        call_seconds=[round(s, 4) for s in call_seconds],
        seconds_per_clip=per_clip,
        clips_per_minute=per_minute,
        vs_baseline=per_minute / baseline.clips_per_minute if baseline else None,
        peak_gpu_mib=gpu,
        peak_rss_mib=rss,
        finite_output=finite,
        denoiser_seconds_per_step=None
        if denoiser_seconds is None
        else denoiser_seconds / (steps * len(call_seconds)),
        fixed_seconds_per_clip=None
        if denoiser_seconds is None
        else (sum(call_seconds) - denoiser_seconds) / clips,
    )


# --------------------------------------------------------------------------- requests


def make_requests(settings: Settings, count: int, *, quality: str) -> list[GenerationRequest]:
    """``count`` requests with different realistic prompts and equal duration/steps."""
    from bench.full_size import AMBIENT_PROMPTS
    from generation.presets import DEFAULT_GUIDANCE
    from generation.prompting import build_request

    requests = []
    for i in range(count):
        text = AMBIENT_PROMPTS[i % len(AMBIENT_PROMPTS)]
        if i >= len(AMBIENT_PROMPTS):  # keep every prompt in a large batch different
            text = f"{text}, take {i // len(AMBIENT_PROMPTS) + 1}"
        request = build_request(text, seed=settings.seed + i, duration=settings.duration, quality=quality)
        # build_request enforces the product's step bounds; a smoke run may ask for fewer. Presets
        # tune guidance, but a batch must share it (any value above 1 costs the same).
        steps = settings.fast_steps if quality == "fast" else settings.steps
        requests.append(dataclasses.replace(request, steps=steps, guidance=DEFAULT_GUIDANCE))
    return requests


def _rerolls(requests: Sequence[GenerationRequest], round_: int) -> list[GenerationRequest]:
    """The same prompts with new seeds (what a user's "reroll" sends)."""
    from generation.request import MAX_SEED

    return [r.with_seed((r.seed + 1000 * round_) % (MAX_SEED + 1)) for r in requests]


# --------------------------------------------------------------------------- sections


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
    call_seconds, finite, denoiser = _timed_calls(ctx, calls)
    _add_row(
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
    graphs = _compiled_graphs()
    batches = [_rerolls(requests, round_) for round_ in range(1, settings.repeats + 1)]
    call_seconds, finite, denoiser = _timed_calls(ctx, [lambda b=b: engine.generate(b) for b in batches])
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
        row.graphs_compiled_while_timed = (_compiled_graphs() or 0) - graphs
    return row


def _sweep(
    ctx: Context, engine: AudioEngine, *, section: str, label: str, quality: str, prompt_cache: str
) -> None:
    for size in ctx.settings.batches:
        _add_row(
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
    _log(f"compile + warm-up ({settings.compile_backend}, batches {settings.batches}): {warm_up_s:.1f}s")
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
            call_seconds, finite, denoiser = _timed_calls(ctx, calls)
        _add_row(
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


# --------------------------------------------------------------------------- reporting


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _add_row(ctx: Context, row: Row) -> None:
    ctx.rows.append(row)
    _log(
        f"{row.model}: {row.label}, batch {row.batch_size}, {row.scheduler} {row.steps} steps: "
        f"{row.seconds_per_clip:.3f} s/clip, {row.clips_per_minute:.1f} clips/min"
    )
    write_outputs(ctx)  # after every row: a run cut short still leaves its results


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and hardware, for comparing runs."""
    import diffusers
    import torch
    import transformers

    cuda = device.type == "cuda"
    props = torch.cuda.get_device_properties(device) if cuda else None
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if cuda
        else platform.processor() or platform.machine(),
        "gpu_memory_mib": round(props.total_memory / _MIB) if props else None,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "peak_memory": "torch.cuda.max_memory_allocated" if cuda else "peak RSS (VmHWM) of the process",
    }


def write_outputs(ctx: Context) -> None:
    _write(ctx.report, ctx.settings, ctx.rows)


def _write(report: dict[str, Any], settings: Settings, rows: Sequence[Row]) -> None:
    report["rows"] = [dataclasses.asdict(r) for r in rows]
    if settings.output:
        Path(settings.output).write_text(json.dumps(report, indent=2) + "\n")
    if settings.markdown:
        Path(settings.markdown).write_text(markdown_report(report))


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(rows: Sequence[dict[str, Any]], cuda: bool) -> str:
    """One line per measured configuration."""
    columns = ["Model", "Configuration", "Batch", "Scheduler", "Steps", "Prompt cache", "s/clip"]
    columns += ["clips/min", "× baseline", "Denoiser s/step", "Fixed s/clip"]
    columns += ["Peak GPU MiB" if cuda else "Peak RSS MiB"]
    lines = ["| " + " | ".join(columns) + " |", "|---|---|---:|---|---:|---|" + "---:|" * 6]
    for r in rows:
        cells = [
            r["model"],
            r["label"],
            str(r["batch_size"]),
            r["scheduler"],
            str(r["steps"]),
            r["prompt_cache"],
            _fmt(r["seconds_per_clip"], 3),
            _fmt(r["clips_per_minute"], 1),
            _fmt(r["vs_baseline"]),
            _fmt(r.get("denoiser_seconds_per_step"), 3),
            _fmt(r.get("fixed_seconds_per_clip"), 3),
            _fmt(r["peak_gpu_mib"] if cuda else r["peak_rss_mib"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.3f} B" if parameters >= 1e8 else f"{parameters / 1e3:.1f} k"


def markdown_report(report: dict[str, Any]) -> str:
    env, settings = report["environment"], report["settings"]
    cuda = env["device"].startswith("cuda")
    lines = [
        "# Text-to-audio throughput",
        "",
        f"- Date: {report['date']}",
        f"- Device: {env['device_name']} ({env['device']}), CUDA {env['cuda_version']}, "
        f"torch {env['torch']}, diffusers {env['diffusers']}, transformers {env['transformers']}",
        f"- Clips: {settings['duration']:g} s, {settings['steps']} steps (fast: {settings['fast_steps']}), "
        f"{settings['repeats']} timed repeats after one untimed warm-up call per configuration, "
        f"{settings['dtype']}",
    ]
    for key, model in report.get("models", {}).items():
        lines.append(
            f"- {key}: {model['name']}, {_count(model['parameters'])} parameters, "
            f"latent {model['latent_shape_per_clip']} per clip, built in {model['build_seconds']} s"
        )
    for key, c in report.get("compile", {}).items():
        lines.append(
            f"- torch.compile of {key} ({c['backend']}) + warm-up: {c['compile_and_warm_up_seconds']} s "
            "(excluded)"
        )
    for section, reason in report.get("skipped", {}).items():
        lines.append(f"- Skipped {section}: {reason}")
    lines += ["", markdown_table(report.get("rows", []), cuda)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def load_pipeline(settings: Settings, subject: Subject, device: torch.device) -> tuple[Any, dict[str, Any]]:
    """The subject's pipeline on ``device`` in the run's dtype, and what to record about it."""
    import torch

    dtype = getattr(torch, settings.dtype)
    started = time.perf_counter()
    if settings.model == "full":
        pipe = subject.build_full(device, dtype, settings.seed)
        parameters = subject.check_parameter_count(pipe)
    else:
        pipe = subject.build_tiny(settings.seed).to(device)
        if dtype != torch.float32:
            pipe.to(dtype=dtype)
        parameters = sum(
            p.numel()
            for c in pipe.components.values()
            if isinstance(c, torch.nn.Module)
            for p in c.parameters()
        )
    attention = subject.engine_class().prepare(pipe)
    _sync(device)
    info = {
        "name": subject.full_name if settings.model == "full" else f"{subject.key} tiny (random weights)",
        "parameters": parameters,
        "latent_shape_per_clip": list(subject.latent_shape(pipe, settings.duration)),
        "attention": attention,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    return pipe, info


def _skip_reason(settings: Settings, subject: Subject, section: str) -> str | None:
    if section not in settings.sections:
        return "not selected (--only)"
    if section == "compile" and not settings.compile:
        return "disabled (--no-compile, the default on the CPU)"
    if section == "window" and not subject.fixed_window:
        return f"{subject.key} has no fixed window"
    return None


def run(settings: Settings) -> dict[str, Any]:
    """Run the selected sections on each model in turn; returns the report (also written when asked)."""
    import gc

    import torch

    from bench.subjects import SUBJECTS

    started = time.perf_counter()
    device = torch.device(settings.device)
    report: dict[str, Any] = {
        "benchmark": "bench.gpu_throughput",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": dataclasses.asdict(settings),
        "environment": environment(device),
        "models": {},
        "skipped": {},
        "rows": [],
    }
    rows: list[Row] = []
    ran: set[str] = set()
    reasons: dict[str, str] = {}
    for key in settings.models:
        subject = SUBJECTS[key]
        pipe, info = load_pipeline(settings, subject, device)
        report["models"][key] = info
        _log(f"{key} built in {info['build_seconds']}s: {info['parameters'] / 1e6:.1f} M parameters")
        ctx = Context(
            settings=settings,
            subject=subject,
            pipe=pipe,
            device=device,
            default_scheduler=pipe.scheduler,
            report=report,
            rows=rows,
        )
        for section in SECTIONS:
            reason = _skip_reason(settings, subject, section)
            if reason is None:
                RUNNERS[section](ctx)
                ran.add(section)
            else:
                reasons.setdefault(section, reason)
        report["skipped"] = {section: why for section, why in reasons.items() if section not in ran}
        # One model at a time in memory: the next one is built after this one is gone.
        del ctx, pipe
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    _write(report, settings, rows)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    report = run(settings)
    print(markdown_report(report))
    _log(f"done in {report['total_seconds']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
