"""Long renders: click-free joints, exact length, the size cap, bounded memory."""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image
from scipy.signal import butter, sosfilt

from generation.audio.loudness import db_to_gain, integrated_loudness, true_peak
from generation.audio.mp3 import decode_mp3
from generation.audio.seam import seam_report
from generation.audio.tags import Mp3Tags, read_tags
from generation.backends.audioldm2.engine import AudioEngine
from generation.errors import Cancelled, GenerationError
from generation.prompting import build_request
from generation.recipes import long_render
from generation.recipes.long_plan import SEGMENT_MARGIN_S, LongRenderPlan, plan_long_render
from generation.recipes.long_render import (
    DISCORD_UPLOAD_LIMIT,
    LongRenderResult,
    RenderProgress,
    engine_renderer,
    render_long,
)
from generation.request import GenerationRequest

SR = 16_000


def _request(**kw: object) -> GenerationRequest:
    params: dict[str, object] = {"seed": 7, "steps": 10} | kw
    return build_request("rain on a tin roof", **params)  # type: ignore[arg-type]


# --- joining, on synthetic segments ------------------------------------------------------------

_LOWPASS = butter(4, 3000, fs=SR, output="sos")


def _synthetic_renderer(lengths: list[int] | None = None) -> Callable[..., np.ndarray]:
    """Band-limited noise and a tone at a per-seed level, phase and DC offset: spliced without a
    crossfade, every joint would click and jump in level."""

    def render(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        rng = np.random.default_rng(request.seed)
        n = int(request.duration_s * SR)
        t = np.arange(n) / SR
        noise = sosfilt(_LOWPASS, rng.standard_normal(n))
        tone = 0.5 * np.sin(2 * np.pi * 180 * t + rng.uniform(0, 2 * np.pi))
        level = 10 ** (rng.uniform(-20, 0) / 20)
        for step in range(1, request.steps + 1):
            if progress is not None:
                progress(step, request.steps)
        if lengths is not None:
            lengths.append(n)
        return (level * (noise + tone) + rng.uniform(-0.2, 0.2)).astype(np.float32)

    return render


def _render(
    plan: LongRenderPlan, render: Callable[..., np.ndarray], **kw: object
) -> tuple[np.ndarray, LongRenderResult]:
    out = io.BytesIO()
    result = render_long(plan, render, out, sample_rate=SR, **kw)  # type: ignore[arg-type]
    audio, rate = decode_mp3(out.getvalue())
    assert rate == SR and result.size_bytes == len(out.getvalue())
    return audio, result


def _joint_edges(plan: LongRenderPlan, lengths: list[int]) -> list[int]:
    """Output samples where each crossfade starts and ends."""
    overlap = round(plan.crossfade_s * SR)
    shift = overlap if plan.loop else 0
    edges, start = [], 0
    for length in lengths[:-1]:
        start += length - overlap
        edges += [start - shift, start + overlap - shift]
    return edges


def _assert_no_click_or_jump_at(audio: np.ndarray, position: int) -> None:
    # Rotate the joint to the wrap-around and measure it as a loop seam.
    report = seam_report(np.roll(audio, -position), SR)
    assert report.seam_step <= report.step_p999, (position, report)
    assert report.seam_jump_db <= report.jump_max_db, (position, report)


def test_joints_are_click_free_and_exact_length_at_the_loudness_target() -> None:
    lengths: list[int] = []
    plan = plan_long_render(_request(), 95.0)
    audio, result = _render(plan, _synthetic_renderer(lengths))
    assert plan.count == 4
    assert audio.shape[0] == result.samples == 95 * SR  # to the sample
    for edge in _joint_edges(plan, lengths):
        _assert_no_click_or_jump_at(audio, edge)
    # Segments 20 dB apart in level come out even, and the whole on the target.
    assert integrated_loudness(audio, SR) == pytest.approx(-18.0, abs=0.3)
    quarters = [integrated_loudness(part, SR) for part in np.array_split(audio, 4)]
    assert max(quarters) - min(quarters) < 1.0
    # Faded in and out like a single clip.
    assert abs(audio[0]) < 1e-3 and abs(audio[-1]) < 1e-3
    assert result.silent_segments == 0 and not result.loop


def test_a_hard_splice_would_have_been_caught() -> None:
    render = _synthetic_renderer()
    first, second = (render(r, None) for r in plan_long_render(_request(), 50.0).segments)
    spliced = np.concatenate((first, second))
    report = seam_report(np.roll(spliced, -first.shape[0]), SR)
    assert report.stands_out


def test_looping_long_render_closes_seamlessly() -> None:
    lengths: list[int] = []
    plan = plan_long_render(_request(), 70.0, loop=True)
    audio, result = _render(plan, _synthetic_renderer(lengths))
    assert audio.shape[0] == 70 * SR and result.loop
    report = seam_report(audio, SR)
    assert not report.stands_out, report
    for edge in _joint_edges(plan, lengths):
        _assert_no_click_or_jump_at(audio, edge)


def test_bitrate_is_fitted_under_the_cap() -> None:
    plan = plan_long_render(_request(), 100.0)
    out = io.BytesIO()
    cap = 1024**2
    result = render_long(plan, _synthetic_renderer(), out, sample_rate=SR, max_bytes=cap)
    assert result.bitrate_kbps == 80
    assert len(out.getvalue()) <= cap


def test_progress_names_the_segment() -> None:
    seen: list[RenderProgress] = []
    plan = plan_long_render(_request(steps=12), 61.0)
    _render(plan, _synthetic_renderer(), progress=seen.append)
    assert len(seen) == plan.count * 12
    assert [p.label for p in seen[::12]] == ["segment 1 of 3", "segment 2 of 3", "segment 3 of 3"]
    assert seen[0].fraction == pytest.approx(1 / 36) and seen[-1].fraction == 1.0


def test_cancelled_render_writes_nothing() -> None:
    render = _synthetic_renderer()

    def cancelling(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        if request.seed == 8:
            raise Cancelled()
        return render(request, progress)

    out = io.BytesIO()
    with pytest.raises(Cancelled):
        render_long(plan_long_render(_request(), 90.0), cancelling, out, sample_rate=SR)
    assert out.getvalue() == b""


def test_a_segment_far_shorter_than_planned_is_an_error() -> None:
    def short(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        return np.zeros(SR * 3, dtype=np.float32)

    with pytest.raises(GenerationError, match="segment 1"):
        render_long(plan_long_render(_request(), 90.0), short, io.BytesIO(), sample_rate=SR)


def test_silent_segments_stay_silent() -> None:
    def silent(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        return np.zeros(int(request.duration_s * SR), dtype=np.float32)

    audio, result = _render(plan_long_render(_request(), 40.0), silent)
    assert result.silent_segments == 2
    assert np.abs(audio).max() < 1e-4


def test_emitted_audio_stays_under_the_true_peak_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two segments that each touch the ceiling, with peaks meeting mid-crossfade, would sum
    3 dB over it; the crossfade dips instead."""
    emitted: list[np.ndarray] = []
    write = long_render.Mp3StreamEncoder.write

    def spy(self: long_render.Mp3StreamEncoder, block: np.ndarray) -> None:
        emitted.append(np.array(block))
        write(self, block)

    monkeypatch.setattr(long_render.Mp3StreamEncoder, "write", spy)
    plan = plan_long_render(_request(), 50.0)
    overlap = round(plan.crossfade_s * SR)

    def peaky(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        n = int(request.duration_s * SR)
        x = 0.01 * np.random.default_rng(request.seed).standard_normal(n)
        # An impulse in the middle of each crossfade, from both sides.
        x[overlap // 2] = x[n - overlap + overlap // 2] = 1.0
        return x.astype(np.float32)

    render_long(plan, peaky, io.BytesIO(), sample_rate=SR)
    audio = np.concatenate(emitted)
    assert audio.shape[0] == 50 * SR
    assert true_peak(audio) <= db_to_gain(-1.0) * 1.001
    # The dip is local: the impulse is still the loudest thing, only 3 dB lower than a sum.
    assert np.abs(audio).max() > 0.5 * db_to_gain(-1.0)


# --- three minutes on the tiny model -----------------------------------------------------------


def _traced_render(
    tiny_engine: AudioEngine, plan: LongRenderPlan, lengths: list[int]
) -> tuple[bytes, LongRenderResult, int]:
    render = engine_renderer(tiny_engine)

    def recording(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        waveform = render(request, progress)
        lengths.append(waveform.shape[0])
        return waveform

    out = io.BytesIO()
    tags = Mp3Tags.from_request(plan.base, tiny_engine.model_name)
    tracemalloc.start()
    try:
        result = render_long(plan, recording, out, sample_rate=SR, tags=tags)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out.getvalue(), result, peak


def test_three_minute_render_on_the_tiny_model(tiny_engine: AudioEngine) -> None:
    request = _request(seed=11)
    plan = plan_long_render(request, 180.0, loop=True)
    lengths: list[int] = []
    mp3, result, peak = _traced_render(tiny_engine, plan, lengths)

    # Bounded memory: a 3-minute render peaks no higher than a render of one such segment
    # (what a segment's finishing needs), not with its length.
    one_segment = plan_long_render(request, plan.segment_s - SEGMENT_MARGIN_S)
    assert one_segment.count == 1 and one_segment.segment_s == pytest.approx(plan.segment_s, abs=0.011)
    _, _, peak_one = _traced_render(tiny_engine, one_segment, [])
    assert peak < 1.2 * peak_one, (peak, peak_one)
    assert peak < 64 * 1024**2

    assert plan.count == 7
    assert len(mp3) < DISCORD_UPLOAD_LIMIT
    assert read_tags(mp3)["seed"] == "11"
    audio, _ = decode_mp3(mp3)
    assert audio.shape[0] == result.samples == 180 * SR  # exact duration
    for edge in _joint_edges(plan, lengths):
        _assert_no_click_or_jump_at(audio, edge)
    assert not seam_report(audio, SR).stands_out  # the loop closes too
    assert result.spectrogram_png is not None
    assert Image.open(io.BytesIO(result.spectrogram_png)).size == (600, 200)


def test_post_processing_does_not_import_heavy_dependencies() -> None:
    # A bot may join, loop, mix and draw in a process (or thread pool) without the model.
    code = (
        "import sys, numpy as np\n"
        "from generation.audio import looping, spectrogram\n"
        "from generation.recipes import long_render, mixing\n"
        "x = np.random.default_rng(0).standard_normal(16000 * 3)\n"
        "spectrogram.spectrogram_png(looping.make_seamless_loop(x, 16000), 16000)\n"
        "bad = {'torch', 'diffusers', 'discord'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- stereo, 44.1 kHz (Stable Audio) -----------------------------------------------------------

SR_STEREO = 44_100


def _stereo_renderer(lengths: list[int] | None = None) -> Callable[..., np.ndarray]:
    """Segments shaped (samples, 2): the mono synthetic segment on the left, a quieter, different
    one on the right, at 44.1 kHz."""
    mono = _synthetic_renderer()

    def render(request: GenerationRequest, progress: Callable[[int, int], None] | None) -> np.ndarray:
        n = int(request.duration_s * SR_STEREO)
        left = np.interp(np.arange(n) / SR_STEREO, np.arange(int(request.duration_s * SR)) / SR,
                         mono(request, progress))  # fmt: skip
        right = np.roll(left, 1234) * 0.5
        if lengths is not None:
            lengths.append(n)
        return np.stack([left, right], axis=1).astype(np.float32)

    return render


def _assert_seamless_at(audio: np.ndarray, position: int) -> None:
    report = seam_report(np.roll(audio, -position, axis=0), SR_STEREO)
    assert report.seam_step <= report.step_p999, (position, report)
    assert report.seam_jump_db <= report.jump_max_db, (position, report)


@pytest.mark.parametrize("loop", [False, True])
def test_a_stereo_render_is_exact_seamless_and_on_target(loop: bool) -> None:
    lengths: list[int] = []
    plan = plan_long_render(_request(), 70.0, loop=loop)
    out = io.BytesIO()
    result = render_long(plan, _stereo_renderer(lengths), out, sample_rate=SR_STEREO, channels=2)
    audio, rate = decode_mp3(out.getvalue())
    assert rate == SR_STEREO and audio.shape == (70 * SR_STEREO, 2) == (result.samples, 2)
    assert integrated_loudness(audio, rate) == pytest.approx(-18.0, abs=0.3)
    overlap = round(plan.crossfade_s * SR_STEREO)
    start = 0
    for length in lengths[:-1]:  # every joint, both edges of its crossfade
        start += length - overlap
        for edge in (start, start + overlap):
            _assert_seamless_at(audio, edge - (overlap if loop else 0))
    if loop:
        assert not seam_report(audio, rate).stands_out
    # The right channel stays the quieter one throughout.
    assert np.std(audio[:, 1]) / np.std(audio[:, 0]) == pytest.approx(0.5, rel=0.1)
    assert result.bitrate_kbps == 128


def test_a_stereo_segment_is_refused_by_a_mono_render_and_vice_versa() -> None:
    plan = plan_long_render(_request(), 40.0)
    with pytest.raises(GenerationError, match="mono"):
        render_long(plan, _stereo_renderer(), io.BytesIO(), sample_rate=SR_STEREO)
    with pytest.raises(GenerationError, match="stereo"):
        render_long(plan, _synthetic_renderer(), io.BytesIO(), sample_rate=SR, channels=2)


def test_a_looping_render_on_the_tiny_stable_audio_open(tiny_sao_engine) -> None:  # type: ignore[no-untyped-def]
    plan = plan_long_render(_request(seed=5), 40.0, loop=True)
    out = io.BytesIO()
    result = render_long(
        plan,
        engine_renderer(tiny_sao_engine),
        out,
        sample_rate=tiny_sao_engine.sample_rate,
        channels=tiny_sao_engine.channels,
        tags=Mp3Tags.from_request(plan.base, tiny_sao_engine.model_name),
    )
    audio, rate = decode_mp3(out.getvalue())
    assert plan.count == 2 and rate == 44_100 and audio.shape == (40 * rate, 2)
    assert read_tags(out.getvalue())["model"] == "tiny-sao"
    assert not seam_report(audio, rate).stands_out
    assert integrated_loudness(audio, rate) == pytest.approx(-18.0, abs=0.3)
    assert result.spectrogram_png is not None
