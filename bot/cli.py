"""The ``ambientgen`` command: ``generate`` (offline, to files), ``run`` (the Discord bot),
``worker`` (a GPU worker taking the bot's jobs from Redis) and ``doctor`` (checks a machine)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.logs import configure_logging
from generation.cli import add_generate_arguments, run_generate

CONFIG_ENV = "AMBIENTGEN_CONFIG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ambientgen", description="Ambient soundscapes from text.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate MP3 files from text (no Discord)")
    add_generate_arguments(generate)
    run = commands.add_parser("run", help="run the Discord bot")
    worker = commands.add_parser(
        "worker", help='run a GPU worker for a bot with [executor] kind = "redis" (one per GPU)'
    )
    doctor = commands.add_parser(
        "doctor",
        help="check this machine before the first start: GPU, weights, database, voice, Redis, token",
    )
    doctor.add_argument(
        "--worker", action="store_true", help="check it as a GPU worker's machine (`ambientgen worker`)"
    )
    for sub in (run, worker, doctor):
        sub.add_argument(
            "-c",
            "--config",
            type=Path,
            default=os.environ.get(CONFIG_ENV),
            help=f"TOML config file (default: ${CONFIG_ENV}, else built-in defaults)",
        )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port of this worker's /metrics, /healthz and /readyz (overrides [metrics] port; "
        "a worker beside the bot needs its own)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.command == "generate":
        return run_generate(args)
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return run_doctor(args.config, worker=args.worker)
    if args.command == "worker":
        from bot.remote.worker import run_worker

        return run_worker(args.config, metrics_port=args.metrics_port)
    from bot.runner import run_bot

    return run_bot(args.config)


if __name__ == "__main__":
    sys.exit(main())
