"""``/status``: its texts, and what the local executor reports about each model."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from bot.cogs.status import gap_summary
from bot.jobs.executor import ModelInfo
from bot.jobs.local_executor import LocalExecutor
from bot.ui.status import audio_format, jobs_per_model, model_field
from bot.ui.text import FIELD_NAME_MAX, FIELD_VALUE_MAX
from generation.audio.finishing import FinishSettings
from generation.backends.registry import load_backend
from generation.executor import GpuExecutor
from generation.models import ModelCatalog
from generation.recipes.recipe import build_order
from generation.settings import EngineSettings
from tests.bot.jobs.test_visibility import job


def test_gap_summary_reports_median_and_worst() -> None:
    assert gap_summary([]) == "no job has waited yet"
    assert gap_summary([12.4, 3.2, 5.0]) == "median 5 ms, worst 12 ms (3 gaps)"


SAO = ModelInfo("tiny-sao", "stable-audio-open", 44_100, 2, "cpu (float32)", generating=True)


def test_a_model_field_says_family_format_device_and_what_it_is_doing() -> None:
    assert audio_format(16_000, 1) == "16 kHz mono" and audio_format(44_100, 2) == "44.1 kHz stereo"
    assert model_field(SAO, default=False, running=1, waiting=2) == (
        "Model tiny-sao",
        "Stable Audio Open · 44.1 kHz stereo · cpu (float32)\ngenerating now · 1 running · 2 waiting",
    )
    tiny = ModelInfo("tiny", "audioldm2", 16_000, 1, "cuda:0 (float16)", generating=False)
    assert model_field(tiny, default=True, running=0, waiting=0) == (
        "Model tiny (default)",
        "AudioLDM2 · 16 kHz mono · cuda:0 (float16)\nidle · no jobs",
    )


def test_a_model_field_escapes_and_fits_any_name() -> None:
    odd = dataclasses.replace(
        SAO, name="[x](https://evil.example) @everyone " + "m" * 300, family="new-family"
    )
    name, value = model_field(odd, default=True, running=0, waiting=0)
    assert len(name) <= FIELD_NAME_MAX and len(value) <= FIELD_VALUE_MAX
    assert "](https://" not in name and "@everyone" not in name
    assert value.startswith("new-family · 44.1 kHz stereo")  # an unknown family by its key


def test_jobs_count_for_every_model_they_use() -> None:
    plain, on_sao, scene = job(1, 1, 10), job(2, 1, 10), job(3, 2, 10)
    on_sao = dataclasses.replace(on_sao, request=on_sao.request.with_model("tiny-sao"))
    request, recipe = build_order(
        "rain + crickets@tiny-sao + wind@tiny-sao", catalog=ModelCatalog.from_ids(["tiny", "tiny-sao"])
    )
    scene = dataclasses.replace(scene, request=request, recipe=recipe)
    assert jobs_per_model([plain, on_sao, scene], "tiny") == {"tiny": 2, "tiny-sao": 2}


async def test_the_local_executor_reports_each_model_and_the_one_on_the_gpu() -> None:
    def load() -> list:  # type: ignore[type-arg]
        return [load_backend(EngineSettings(model_id=name, device="cpu")) for name in ("tiny", "tiny-sao")]

    gpu = GpuExecutor(load)
    executor = LocalExecutor(gpu, FinishSettings())
    on_thread, release = threading.Event(), threading.Event()
    await executor.start()
    try:
        info = executor.info()
        assert [
            (m.name, m.family, m.sample_rate, m.channels, m.device, m.generating) for m in info.loaded
        ] == [
            ("tiny", "audioldm2", 16_000, 1, "cpu (float32)", False),
            ("tiny-sao", "stable-audio-open", 44_100, 2, "cpu (float32)", False),
        ]
        # Hold work on tiny-sao's engine on the GPU thread: it is the one generating, until done.

        def work(engine, progress):  # type: ignore[no-untyped-def]
            on_thread.set()
            release.wait(10)
            return engine.model_name

        running = asyncio.ensure_future(gpu.run(work, model="tiny-sao"))
        await asyncio.to_thread(on_thread.wait, 10)
        assert [m.generating for m in executor.info().loaded] == [False, True]
        release.set()
        assert await running == "tiny-sao"
        assert [m.generating for m in executor.info().loaded] == [False, False]
    finally:
        release.set()
        await executor.close()


def test_the_users_status_lines_say_what_they_can_act_on_and_nothing_internal() -> None:
    from bot.ui.status import health_line, models_line, own_jobs_line, queue_line

    assert health_line("ready", True).startswith("🟢")
    assert health_line("waiting for a GPU worker", False).startswith("🟡 Waiting for a GPU")
    assert health_line("waiting for Redis (answering errors since 22:41 UTC)", False).startswith(
        "🟡 The GPU workers can't be reached"
    )
    assert queue_line(0, 0, 0.0) == "Nothing queued — a new request starts right away."
    assert queue_line(1, 4, 41.0) == "1 generating · 4 waiting · a new request starts in about 40 s"
    no_gpu = queue_line(0, 3, 1.0, available=False)
    assert no_gpu == "0 generating · 3 waiting · no estimate until a GPU is back"  # none made up
    mine = own_jobs_line([("rain", None, None), ("[x](https://evil.example) @everyone", 2, 30.0)])
    assert mine.startswith("• **rain** — generating now\n• ")
    assert "https://" not in mine and "@everyone" not in mine and mine.endswith("#2 in line, about 30 s")
    assert own_jobs_line([]) == "None — try `/ambient`!"
    assert models_line([("tiny", True, 0, 0), ("tiny-sao", False, 1, 2)]) == (
        "• tiny (default) — free\n• tiny-sao — 1 generating · 2 waiting"
    )
    long = own_jobs_line([("m" * 300, i, 1.0) for i in range(40)])
    assert len(long) <= FIELD_VALUE_MAX
