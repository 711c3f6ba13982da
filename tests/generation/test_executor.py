"""The GPU executor on the tiny model: threading, progress, OOM fallback, watchdog."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
import torch

from generation.backends.audioldm2.engine import AudioEngine, EngineSettings
from generation.errors import Cancelled, OutOfMemory
from generation.executor import GpuExecutor, StuckGeneration
from generation.prompting import build_request


def _tiny() -> AudioEngine:
    return AudioEngine.load(EngineSettings(model_id="tiny", device="cpu"))


def _requests(n: int, steps: int = 10):
    return [build_request("ocean waves", seed=s, steps=steps, duration=2.5) for s in range(n)]


async def test_generates_on_its_own_thread_and_reports_progress_on_the_loop() -> None:
    executor = GpuExecutor(_tiny)
    await executor.start()
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int, int]] = []
    result = await executor.generate(
        _requests(2), on_progress=lambda step, total: seen.append((step, total, threading.get_ident()))
    )
    await asyncio.sleep(0)  # let the last call_soon_threadsafe callbacks run
    assert len(result.waveforms) == 2 and not result.split
    assert [s[:2] for s in seen] == [(i, 10) for i in range(1, 11)]
    assert {s[2] for s in seen} == {loop_thread}
    alone = executor.engine.generate(_requests(2)[1:])
    assert np.abs(alone[0] - result.waveforms[1]).max() < 1e-3
    await executor.close()


async def test_should_stop_cancels_between_steps() -> None:
    executor = GpuExecutor(_tiny)
    await executor.start()
    steps: list[int] = []
    with pytest.raises(Cancelled):
        await executor.generate(
            _requests(1, steps=30),
            on_progress=lambda step, total: steps.append(step),
            should_stop=lambda: len(steps) >= 3,
        )
    await asyncio.sleep(0)
    assert 3 <= len(steps) < 30
    await executor.close()


async def test_out_of_memory_batch_is_retried_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = GpuExecutor(_tiny)
    engine = await executor.start()
    original = engine.pipe.unet.forward
    batch_sizes: list[int] = []

    def picky(sample: torch.Tensor, *args: object, **kwargs: object):
        batch_sizes.append(sample.shape[0])
        if sample.shape[0] > 2:  # more than one request (with its guidance twin) "does not fit"
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return original(sample, *args, **kwargs)

    monkeypatch.setattr(engine.pipe.unet, "forward", picky)
    requests = _requests(3)
    result = await executor.generate(requests)
    assert result.split and len(result.waveforms) == 3
    assert batch_sizes[0] == 6 and set(batch_sizes[1:]) == {2}
    monkeypatch.setattr(engine.pipe.unet, "forward", original)
    for request, wave in zip(requests, result.waveforms, strict=True):
        (alone,) = engine.generate([request])
        assert np.abs(alone - wave).max() < 1e-3
    await executor.close()


async def test_out_of_memory_on_a_single_request_fails_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = GpuExecutor(_tiny)
    engine = await executor.start()

    def never_fits(*args: object, **kwargs: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(engine.pipe.unet, "forward", never_fits)
    with pytest.raises(OutOfMemory):
        await executor.generate(_requests(2))
    await executor.close()


async def test_watchdog_abandons_a_stuck_step_and_rebuilds_the_executor() -> None:
    release = threading.Event()
    built: list[AudioEngine] = []

    def factory() -> AudioEngine:
        engine = _tiny()
        if not built:  # the first engine hangs inside its second denoising step
            original = engine.pipe.unet.forward
            calls = 0

            def hangs(*args: object, **kwargs: object):
                nonlocal calls
                calls += 1
                if calls == 2:
                    release.wait(timeout=60)
                return original(*args, **kwargs)

            engine.pipe.unet.forward = hangs
        built.append(engine)
        return engine

    executor = GpuExecutor(factory, stall_timeout_s=1.0)
    await executor.start()
    with pytest.raises(StuckGeneration):
        await executor.generate(_requests(1))
    assert executor.rebuilds == 1 and len(built) == 2
    result = await executor.generate(_requests(1))  # the rebuilt executor serves the next job
    assert len(result.waveforms) == 1
    release.set()
    await executor.close()


async def test_the_executor_serves_a_stereo_backend() -> None:
    from generation.prompting import build_request
    from tests.generation.conftest import load_tiny

    executor = GpuExecutor(lambda: load_tiny("tiny-sa3"))
    try:
        await executor.start()
        result = await executor.generate([build_request("rain", seed=1, steps=10, duration=2.5)])
        assert (result.sample_rate, result.channels) == (44_100, 2)
        assert result.waveforms[0].shape == (int(2.5 * 44_100), 2)
    finally:
        await executor.close()
