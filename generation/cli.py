"""``ambientgen generate``: text in, finished MP3 files out, no Discord involved."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from generation.errors import GenerationError, ModelUnavailable, RequestError
from generation.finishing import FinishSettings
from generation.presets import PRESETS
from generation.request import SCHEDULERS
from generation.settings import DEFAULT_MODEL_ID, DTYPES, OFFLOAD_MODES, EngineSettings

log = logging.getLogger(__name__)


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ambientgen generate``."""
    parser.add_argument("text", help='what to hear, e.g. "rain on a tin roof"')
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
        "-m", "--model", default=DEFAULT_MODEL_ID, help="hub id, local folder, or 'tiny' (offline test model)"
    )
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: CUDA if present)")
    parser.add_argument("--dtype", choices=DTYPES, help="default: float16 on CUDA")
    parser.add_argument("--offload", choices=OFFLOAD_MODES, default="auto", help="model CPU offload")
    parser.add_argument("-n", "--variations", type=int, default=1, help="how many files (1-8): out-1.mp3 …")
    parser.add_argument("--bitrate", type=int, default=128, help="MP3 bitrate in kbps (40-160 at 16 kHz)")
    parser.add_argument("--lufs", type=float, default=-18.0, help="loudness target (integrated LUFS)")


def _output_paths(output: Path | None, default_name: str, count: int) -> list[Path]:
    base = output if output is not None else Path(default_name)
    if base.suffix.lower() != ".mp3":
        base = base.with_name(base.name + ".mp3")
    if count == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{i}{base.suffix}") for i in range(1, count + 1)]


def run_generate(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit status. Errors are one line on stderr."""
    from generation.naming import mp3_filename
    from generation.prompting import build_request

    try:
        if not 1 <= args.variations <= 8:
            raise RequestError(f"Variations must be between 1 and 8; you asked for {args.variations}.")
        request = build_request(
            args.text,
            preset=args.preset,
            raw=args.raw,
            duration=args.duration,
            steps=args.steps,
            guidance=args.guidance,
            seed=args.seed,
            negative=args.negative,
            scheduler=args.scheduler,
        )
        finish_settings = FinishSettings(target_lufs=args.lufs, mp3_bitrate_kbps=args.bitrate)
        settings = EngineSettings(
            model_id=args.model, device=args.device, dtype=args.dtype, offload=args.offload
        )
    except (RequestError, ValueError) as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 2
    requests = [request.with_seed((request.seed + i) % 2**32) for i in range(args.variations)]
    paths = _output_paths(args.output, mp3_filename(request.user_text, request.seed), len(requests))

    # Heavy imports only now, so a bad argument answers instantly.
    from tqdm import tqdm

    from generation.engine import AudioEngine
    from generation.finishing import finish
    from generation.tags import Mp3Tags

    print(f"Prompt: {request.prompt}", file=sys.stderr)
    try:
        engine = AudioEngine.load(settings)
        with tqdm(total=request.steps, unit="step", desc="Generating", file=sys.stderr) as bar:

            def progress(step: int, total: int) -> None:
                bar.update(step - bar.n)

            started = time.perf_counter()
            waveforms = engine.generate(requests, progress=progress)
            elapsed = time.perf_counter() - started
    except ModelUnavailable as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 3
    except GenerationError as exc:
        print(f"ambientgen: generation failed: {exc}", file=sys.stderr)
        return 1
    for path, req, wave in zip(paths, requests, waveforms, strict=True):
        done = finish(wave, engine.sample_rate, finish_settings, Mp3Tags.from_request(req, engine.model_name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(done.mp3)
        print(
            f"Wrote {path} ({done.duration_s:.2f} s, {done.lufs:.1f} LUFS, seed {req.seed})", file=sys.stderr
        )
    print(f"Generated {len(requests)} clip(s) in {elapsed:.1f} s", file=sys.stderr)
    return 0
