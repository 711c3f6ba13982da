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
import asyncio
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation.audio.finishing import FinishSettings
from generation.errors import GenerationError, ModelUnavailable, RequestError
from generation.presets import PRESETS
from generation.recipes.layers import describe_layers
from generation.recipes.order import Clip, Progress, Rendered, RenderJob
from generation.recipes.recipe import Recipe
from generation.request import (
    MAX_SEED,
    QUALITIES,
    SCHEDULERS,
)
from generation.settings import DEFAULT_MODEL_ID, DTYPES, OFFLOAD_MODES, EngineSettings

if TYPE_CHECKING:
    from tqdm import tqdm

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
    """A validated command: what to print first, what to render, and where it goes."""

    headline: str
    engine_settings: tuple[EngineSettings, ...]
    """The models to load, the default first (a scene's layers may name others: ``rain@tiny-sao``)."""
    order: RenderJob
    out: _Output


@dataclass(frozen=True)
class _Output:
    """Where results go and how they are finished."""

    mp3: list[Path]
    png: list[Path | None]
    finish: FinishSettings


class _Bar:
    """A tqdm bar fed by the render path's progress events (one bar per stage)."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._stage: object = None

    def __call__(self, update: Progress) -> None:
        from tqdm import tqdm

        if self._bar is None or update.stage != self._stage or update.total != self._bar.total:
            self.close()
            label = (update.stage or "generating").capitalize()
            self._bar = tqdm(total=update.total, unit="step", desc=label, file=sys.stderr)
            self._stage = update.stage
        self._bar.update(update.step - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


async def _render(job: _Job) -> Rendered:
    """The job through the one render path the bot uses too, on a GPU thread of our own."""
    from generation.backends.registry import load_backend
    from generation.executor import GpuExecutor
    from generation.recipes.order import RenderContext
    from generation.recipes.render import render

    gpu = GpuExecutor(lambda: [load_backend(settings) for settings in job.engine_settings])
    bar = _Bar()
    try:
        await gpu.start()
        return await render(RenderContext(gpu, job.out.finish, progress=bar), job.order)
    finally:
        bar.close()
        await gpu.close()


def _write(job: _Job, rendered: Rendered) -> int:
    """Write each posted clip (and its picture); returns how many files were written."""
    from generation.audio.mp3 import decode_mp3
    from generation.audio.spectrogram import spectrogram_png

    recipe = job.order.recipe
    if recipe.candidates > 1:
        ranked = [*rendered.posted, *rendered.spares]
        print("Ranked by CLAP: " + ", ".join(f"seed {c.request.seed} ({c.score:.3f})" for c in ranked),
              file=sys.stderr)  # fmt: skip
    for index, clip in enumerate(rendered.posted):
        path, png = job.out.mp3[index], job.out.png[index]
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written under another name and renamed: a failed write leaves no half file.
        part = path.with_name(path.name + ".part")
        part.write_bytes(clip.mp3)
        part.replace(path)
        if png is not None:
            samples, rate = decode_mp3(clip.mp3)
            png.parent.mkdir(parents=True, exist_ok=True)
            png.write_bytes(spectrogram_png(samples, rate))
        print(f"Wrote {path} ({clip.duration_s:.2f} s, {clip.lufs:.1f} LUFS, {_detail(job, index, clip)})",
              file=sys.stderr)  # fmt: skip
    return len(rendered.posted)


def _detail(job: _Job, index: int, clip: Clip) -> str:
    recipe = job.order.recipe
    if recipe.layered:
        seeds = [
            (r.seed + index * len(recipe.layer_requests)) % (MAX_SEED + 1) for r in recipe.layer_requests
        ]
        return f"{describe_layers(recipe.layers)}, seeds {', '.join(map(str, seeds))}"
    if recipe.length_s is not None:
        return f"seeds {clip.request.seed}…, {len(clip.mp3) / 1024**2:.1f} MiB"
    if recipe.candidates > 1:
        return f"seed {clip.request.seed}, rank {index + 1} of {recipe.candidates}"
    return f"seed {clip.request.seed}"


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
    from generation.models import ModelCatalog
    from generation.naming import mp3_filename
    from generation.prompting import build_request
    from generation.recipes.layer_requests import layer_requests, with_models
    from generation.recipes.layers import is_layered, parse_layers
    from generation.recipes.long_plan import plan_long_render

    layered = is_layered(args.text)
    _conflicts(args, layered)
    finish_settings = FinishSettings(target_lufs=args.lufs, mp3_bitrate_kbps=args.bitrate)
    layers = parse_layers(args.text) if layered else []
    # The default model, then every other one a layer names (loaded too, as the bot would have).
    model_ids = list(dict.fromkeys([args.model, *(layer.model for layer in layers if layer.model)]))
    catalog = ModelCatalog.from_ids(model_ids)
    engine_settings = tuple(
        EngineSettings(model_id=model_id, device=args.device, dtype=args.dtype, offload=args.offload)
        for model_id in model_ids
    )
    count = args.variations

    if layered:
        requests = layer_requests(
            layers,
            duration=args.duration,
            seed=args.seed,
            steps=args.steps,
            guidance=args.guidance,
            scheduler=args.scheduler,
            quality=args.quality,
            catalog=catalog,
            model=catalog.default,
        )
        layers = with_models(layers, requests)
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
            model=catalog.default,
        )
        headline = f"Prompt: {first.prompt}"

    # A mix is named after all its layers ("rain-crickets-1234.mp3"), without the levels.
    name_text = " ".join(layer.text for layer in layers) if layered else first.user_text
    mp3 = _output_paths(args.output, mp3_filename(name_text, first.seed), count)
    png: list[Path | None] = (
        list(_numbered(args.spectrogram, ".png", count)) if args.spectrogram is not None else [None] * count
    )
    out = _Output(mp3=mp3, png=png, finish=finish_settings)

    if layered:
        recipe = Recipe(loop=args.loop, layers=tuple(layers), layer_requests=tuple(requests))
    else:
        recipe = Recipe(loop=args.loop, length_s=args.length, candidates=args.candidates or 1)
    if args.length is not None:
        plan = plan_long_render(first, args.length, loop=args.loop)
        segments = f"{plan.count} segment(s) of {plan.segment_s:g} s"
        headline += f"\nLong render: {segments}, {plan.crossfade_s:g} s crossfades"
    order = RenderJob(first, recipe, variations=count)
    return _Job(headline=headline, engine_settings=engine_settings, order=order, out=out)


def run_generate(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit status. Errors are one line on stderr."""
    try:
        job = _prepare(args)
    except (RequestError, ValueError) as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 2

    print(job.headline, file=sys.stderr)
    try:
        started = time.perf_counter()
        written = _write(job, asyncio.run(_render(job)))
        elapsed = time.perf_counter() - started
    except ModelUnavailable as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 3
    except GenerationError as exc:
        print(f"ambientgen: generation failed: {exc}", file=sys.stderr)
        return 1
    print(f"Generated {written} file(s) in {elapsed:.1f} s", file=sys.stderr)
    return 0
