"""``ambientgen generate``: text in, finished MP3 files out, no Discord involved.

Modes, chosen from the arguments and validated before the model loads:

* one prompt, ``-n`` variations (seeds ``seed … seed+n-1``);
* ``--candidates N``: best-of-N by CLAP score; ``-n M`` (M ≤ N) keeps the best M, in rank order;
* layers (``"rain:0.8 + crickets"``): each layer rendered on its own, then mixed;
* ``--length SECONDS``: a long render in crossfaded segments, streamed to the file.

``--loop`` makes any of them loop seamlessly; ``--spectrogram`` adds a PNG beside each file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation.audio.finishing import FinishSettings
from generation.errors import GenerationError, ModelUnavailable, RequestError
from generation.presets import PRESETS
from generation.request import (
    FAST_SCHEDULER,
    FAST_STEPS,
    MAX_SEED,
    QUALITIES,
    QUALITY_FAST,
    SCHEDULERS,
    GenerationRequest,
)
from generation.settings import DEFAULT_MODEL_ID, DTYPES, OFFLOAD_MODES, EngineSettings

if TYPE_CHECKING:
    import numpy as np
    from tqdm import tqdm

    from generation.audio.finishing import FinishedAudio
    from generation.audio.tags import Mp3Tags
    from generation.backends.base import Backend, ProgressCallback
    from generation.recipes.long_render import LongRenderPlan
    from generation.recipes.mixing import LayerSpec

log = logging.getLogger(__name__)

MAX_VARIATIONS = 8


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ambientgen generate``."""
    parser.add_argument(
        "text", help='what to hear, e.g. "rain on a tin roof"; layers: "rain:0.8 + crickets:0.4"'
    )
    parser.add_argument("-o", "--output", type=Path, help="MP3 file to write (default: named from the text)")
    parser.add_argument(
        "-p", "--preset", choices=sorted(PRESETS), help="soundscape preset (default: matched)"
    )
    parser.add_argument("--raw", action="store_true", help="send the text to the model untouched")
    parser.add_argument("-d", "--duration", type=float, help="seconds of audio (2.5-30)")
    parser.add_argument("-s", "--seed", type=int, help="random seed (0-4294967295); -n N uses seed..seed+N-1")
    parser.add_argument("--steps", type=int, help="denoising steps (10-150; about 50 is best)")
    parser.add_argument("-g", "--guidance", type=float, help="guidance scale (1-15; 5-7.5 is best)")
    parser.add_argument("--negative", help="negative prompt (default: the preset's)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, help="sampler (default: the checkpoint's)")
    parser.add_argument(
        "--quality",
        choices=QUALITIES,
        help="standard (default) or fast: DPM-Solver++ with 25 steps, about half the time",
    )
    parser.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MODEL_ID,
        help="hub id (cvssp/audioldm2, stabilityai/stable-audio-open-1.0, …), local folder, "
        "or a built-in offline test model: tiny (AudioLDM2), tiny-sao (Stable Audio Open), tiny-sa3",
    )
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: CUDA if present)")
    parser.add_argument("--dtype", choices=DTYPES, help="default: float16 on CUDA")
    parser.add_argument("--offload", choices=OFFLOAD_MODES, default="auto", help="model CPU offload")
    parser.add_argument("-n", "--variations", type=int, default=1, help="how many files (1-8): out-1.mp3 …")
    parser.add_argument("--bitrate", type=int, default=128, help="MP3 bitrate in kbps (40-160 at 16 kHz)")
    parser.add_argument("--lufs", type=float, default=-18.0, help="loudness target (integrated LUFS)")
    parser.add_argument("--loop", action="store_true", help="make the file loop seamlessly (no fades)")
    parser.add_argument(
        "--length",
        type=float,
        metavar="SECONDS",
        help="long render up to 600 s: crossfaded segments of the prompt, fitted under 10 MiB",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        metavar="N",
        help="generate N (1-4), keep the best by CLAP score (with -n M: the best M)",
    )
    parser.add_argument(
        "--spectrogram", type=Path, metavar="PATH.png", help="also write a spectrogram picture of each file"
    )


def _numbered(base: Path, suffix: str, count: int) -> list[Path]:
    if base.suffix.lower() != suffix:
        base = base.with_name(base.name + suffix)
    if count == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{i}{base.suffix}") for i in range(1, count + 1)]


def _output_paths(output: Path | None, default_name: str, count: int) -> list[Path]:
    return _numbered(output if output is not None else Path(default_name), ".mp3", count)


@dataclass(frozen=True)
class _Job:
    """A validated command: what to print first and what to run once the model is loaded."""

    headline: str
    engine_settings: EngineSettings
    run: Callable[[Backend], int]
    """Generates and writes the files; returns how many were written."""


@dataclass(frozen=True)
class _Output:
    """Where results go and how they are finished."""

    mp3: list[Path]
    png: list[Path | None]
    finish: FinishSettings
    loop: bool


def _progress_bar(total: int, description: str = "Generating") -> tqdm:
    from tqdm import tqdm

    return tqdm(total=total, unit="step", desc=description, file=sys.stderr)


def _step_callback(bar: tqdm, offset: int = 0) -> ProgressCallback:
    def progress(step: int, _total: int) -> None:
        bar.update(offset + step - bar.n)

    return progress


def _write(path: Path, png: Path | None, done: FinishedAudio, detail: str) -> None:
    from generation.audio.spectrogram import spectrogram_png

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(done.mp3)
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(spectrogram_png(done.samples, done.sample_rate))
    print(f"Wrote {path} ({done.duration_s:.2f} s, {done.lufs:.1f} LUFS, {detail})", file=sys.stderr)


def _finish_and_write(
    out: _Output, index: int, audio: np.ndarray, sample_rate: int, tags: Mp3Tags, detail: str
) -> None:
    from generation.audio.finishing import finish
    from generation.audio.looping import make_seamless_loop

    if out.loop:
        audio = make_seamless_loop(audio, sample_rate)
    done = finish(audio, sample_rate, out.finish, tags)
    _write(out.mp3[index], out.png[index], done, detail)


def _single_job(request: GenerationRequest, out: _Output) -> Callable[[Backend], int]:
    requests = [request.with_seed((request.seed + i) % (MAX_SEED + 1)) for i in range(len(out.mp3))]

    def run(engine: Backend) -> int:
        from generation.audio.tags import Mp3Tags

        with _progress_bar(request.steps) as bar:
            waveforms = engine.generate(requests, progress=_step_callback(bar))
        for index, (req, wave) in enumerate(zip(requests, waveforms, strict=True)):
            tags = Mp3Tags.from_request(req, engine.model_name)
            _finish_and_write(out, index, wave, engine.sample_rate, tags, f"seed {req.seed}")
        return len(requests)

    return run


def _ranked_job(request: GenerationRequest, candidates: int, out: _Output) -> Callable[[Backend], int]:
    def run(engine: Backend) -> int:
        from generation.audio.tags import Mp3Tags

        with _progress_bar(request.steps) as bar:
            ranked = engine.generate_ranked(request, candidates, progress=_step_callback(bar))
        ranking = ", ".join(f"seed {c.request.seed} ({c.score:.3f})" for c in ranked.candidates)
        print(f"Ranked by CLAP: {ranking}", file=sys.stderr)
        kept = ranked.candidates[: len(out.mp3)]
        for index, candidate in enumerate(kept):
            tags = Mp3Tags.from_request(candidate.request, engine.model_name)
            detail = f"seed {candidate.request.seed}, rank {candidate.rank + 1} of {candidates}"
            _finish_and_write(out, index, candidate.audio, engine.sample_rate, tags, detail)
        return len(kept)

    return run


def _layered_job(
    layers: Sequence[LayerSpec], requests: Sequence[GenerationRequest], out: _Output
) -> Callable[[Backend], int]:
    # Variation i shifts every layer's seed by i * layers, so no two renders share a seed.
    variations = [
        [r.with_seed((r.seed + v * len(requests)) % (MAX_SEED + 1)) for r in requests]
        for v in range(len(out.mp3))
    ]
    steps_per_mix = sum({r.batch_key(): r.steps for r in requests}.values())

    def run(engine: Backend) -> int:
        from generation.recipes.mixing import Mix, render_stems

        for index, layer_requests in enumerate(variations):
            with _progress_bar(steps_per_mix, f"Mix {index + 1} of {len(variations)}") as bar:
                done_steps = 0

                def generate(batch: Sequence[GenerationRequest]) -> list[np.ndarray]:
                    nonlocal done_steps
                    waveforms = engine.generate(batch, progress=_step_callback(bar, done_steps))
                    done_steps += batch[0].steps
                    return waveforms

                stems = render_stems(layer_requests, generate)
            mix = Mix.create(layers, layer_requests, stems, engine.sample_rate)
            seeds = ", ".join(str(r.seed) for r in layer_requests)
            detail = f"{mix.describe()}, seeds {seeds}"
            _finish_and_write(
                out, index, mix.mixdown(), engine.sample_rate, mix.tags(engine.model_name), detail
            )
        return len(variations)

    return run


def _long_job(plan: LongRenderPlan, out: _Output) -> Callable[[Backend], int]:
    request = plan.base

    def run(engine: Backend) -> int:
        from generation.audio.tags import Mp3Tags
        from generation.recipes.long_render import RenderProgress, engine_renderer, render_long

        path, png = out.mp3[0], out.png[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under another name and renamed at the end: a failed render leaves no file.
        part = path.with_name(path.name + ".part")
        try:
            with _progress_bar(plan.count * request.steps) as bar, part.open("wb") as file:

                def progress(update: RenderProgress) -> None:
                    bar.set_description(update.label.capitalize(), refresh=False)
                    bar.update((update.segment - 1) * update.steps + update.step - bar.n)

                result = render_long(
                    plan,
                    engine_renderer(engine),
                    file,
                    sample_rate=engine.sample_rate,
                    settings=out.finish,
                    tags=Mp3Tags.from_request(request, engine.model_name),
                    progress=progress,
                    spectrogram=png is not None,
                    channels=engine.channels,
                )
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
        if png is not None and result.spectrogram_png is not None:
            png.parent.mkdir(parents=True, exist_ok=True)
            png.write_bytes(result.spectrogram_png)
        print(
            f"Wrote {path} ({result.duration_s:.2f} s, {plan.count} segment(s), {result.bitrate_kbps} kbps, "
            f"{result.size_bytes / 1024**2:.1f} MiB, seeds {result.seeds[0]}…{result.seeds[-1]})",
            file=sys.stderr,
        )
        return 1

    return run


def _conflicts(args: argparse.Namespace, layered: bool) -> None:
    """Refuse combinations that have no sensible meaning, in the user's terms."""
    if not 1 <= args.variations <= MAX_VARIATIONS:
        raise RequestError(
            f"Variations must be between 1 and {MAX_VARIATIONS}; you asked for {args.variations}."
        )
    if args.length is not None:
        if args.duration is not None:
            raise RequestError("Use either --length (a long render) or --duration (one clip), not both.")
        if layered:
            raise RequestError("--length works on one prompt, not on layers; render layers up to 30 s.")
        if args.variations > 1 or args.candidates is not None:
            raise RequestError("--length makes one file; -n and --candidates do not apply to it.")
    if layered:
        if args.preset or args.raw or args.negative is not None:
            raise RequestError(
                "--preset, --raw and --negative apply to a single prompt; each layer gets its own preset."
            )
        if args.candidates is not None:
            raise RequestError("--candidates works on a single prompt, not on layers.")
    if args.candidates is not None:
        from generation.recipes.ranking import check_candidates

        candidates = check_candidates(args.candidates)
        if args.variations > candidates:
            raise RequestError(
                f"-n {args.variations} asks for more files than --candidates {candidates} makes; "
                "-n picks the best of the candidates."
            )


def _prepare(args: argparse.Namespace) -> _Job:
    """Validate everything and build the job; raises RequestError or ValueError."""
    from generation.audio.looping import loop_finish_settings
    from generation.naming import mp3_filename
    from generation.prompting import build_request
    from generation.recipes.long_render import plan_long_render
    from generation.recipes.mixing import is_layered, layer_requests, parse_layers

    layered = is_layered(args.text)
    _conflicts(args, layered)
    finish_settings = FinishSettings(target_lufs=args.lufs, mp3_bitrate_kbps=args.bitrate)
    if args.loop and args.length is None:
        # A long render joins its loop itself and fades nothing when looping.
        finish_settings = loop_finish_settings(finish_settings)
    engine_settings = EngineSettings(
        model_id=args.model, device=args.device, dtype=args.dtype, offload=args.offload
    )
    count = args.variations

    if layered:
        layers = parse_layers(args.text)
        fast = args.quality == QUALITY_FAST
        requests = layer_requests(
            layers,
            duration=args.duration,
            seed=args.seed,
            steps=args.steps if args.steps is not None or not fast else FAST_STEPS,
            guidance=args.guidance,
            scheduler=args.scheduler if args.scheduler is not None or not fast else FAST_SCHEDULER,
        )
        first = requests[0]
        headline = "\n".join(f"Layer {i + 1}: {r.prompt}" for i, r in enumerate(requests))
    else:
        first = build_request(
            args.text,
            preset=args.preset,
            raw=args.raw,
            duration=args.duration,
            steps=args.steps,
            guidance=args.guidance,
            seed=args.seed,
            negative=args.negative,
            scheduler=args.scheduler,
            quality=args.quality,
        )
        headline = f"Prompt: {first.prompt}"

    # A mix is named after all its layers ("rain-crickets-1234.mp3"), without the levels.
    name_text = " ".join(layer.text for layer in layers) if layered else first.user_text
    mp3 = _output_paths(args.output, mp3_filename(name_text, first.seed), count)
    png: list[Path | None] = (
        list(_numbered(args.spectrogram, ".png", count)) if args.spectrogram is not None else [None] * count
    )
    out = _Output(mp3=mp3, png=png, finish=finish_settings, loop=args.loop and args.length is None)

    if layered:
        run = _layered_job(layers, requests, out)
    elif args.length is not None:
        plan = plan_long_render(first, args.length, loop=args.loop)
        segments = f"{plan.count} segment(s) of {plan.segment_s:g} s"
        headline += f"\nLong render: {segments}, {plan.crossfade_s:g} s crossfades"
        run = _long_job(plan, out)
    elif args.candidates is not None:
        run = _ranked_job(first, args.candidates, out)
    else:
        run = _single_job(first, out)
    return _Job(headline=headline, engine_settings=engine_settings, run=run)


def run_generate(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit status. Errors are one line on stderr."""
    try:
        job = _prepare(args)
    except (RequestError, ValueError) as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 2

    # Heavy imports only now, so a bad argument answers instantly.
    from generation.backends.registry import load_backend

    print(job.headline, file=sys.stderr)
    try:
        engine = load_backend(job.engine_settings)
        started = time.perf_counter()
        written = job.run(engine)
        elapsed = time.perf_counter() - started
    except ModelUnavailable as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 3
    except GenerationError as exc:
        print(f"ambientgen: generation failed: {exc}", file=sys.stderr)
        return 1
    print(f"Generated {written} file(s) in {elapsed:.1f} s", file=sys.stderr)
    return 0
