"""Measuring: timed calls, peak memory, time inside the denoiser, and the rows they make."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

    from bench.gpu_throughput.settings import Settings
    from bench.subjects import Subject

MIB = 1024**2


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


def sync(device: torch.device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` takes, with the device's queue drained before and after."""
    sync(device)
    started = time.perf_counter()
    result = fn()
    sync(device)
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

    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        _clear_rss_peak()


def peak_memory(device: torch.device) -> tuple[float | None, float | None]:
    """(peak GPU MiB allocated, peak RSS MiB) since :func:`reset_peak_memory`; None where n/a."""
    import torch

    sync(device)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / MIB, None
    return None, _rss_peak_mib()


def compiled_graphs() -> int | None:
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
            sync(self._device)
            self._started = time.perf_counter()

    def _post(self, *_args: object) -> None:
        if self.running:
            sync(self._device)
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


def timed_calls(ctx: Context, calls: Sequence[Callable[[], Any]]) -> tuple[list[float], bool, float]:
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
