"""The benchmark's settings: what a run was asked for, and the command line that asks it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

SECTIONS: tuple[str, ...] = ("baseline", "batch", "cache", "fast", "compile", "window")
#: The models measured by default, side by side.
DEFAULT_MODELS: tuple[str, ...] = ("audioldm2", "stable-audio-open")
#: Clips the baseline renders per repeat (one at a time), capped by the largest batch.
DEFAULT_BASELINE_CLIPS = 4


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
