"""``ambientgen studio``: load the models (or connect to the GPU workers), build the page, serve it.

Safe by default: it listens on 127.0.0.1; any other address needs ``AMBIENTGEN_STUDIO_AUTH``
(``user:password``), and is refused with one line otherwise. Its files live in a temporary
folder, pruned by age and removed at exit.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

AUTH_ENV = "AMBIENTGEN_STUDIO_AUTH"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def add_studio_arguments(parser: argparse.ArgumentParser) -> None:
    from generation.settings import DEFAULT_MODEL_ID

    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}; "
                        f"any other needs ${AUTH_ENV}=user:password)")  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "-m", "--model", help=f"without --config: the model, as in generate (default {DEFAULT_MODEL_ID})"
    )


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def studio_auth(host: str, environ: dict[str, str] | os._Environ[str]) -> tuple[str, str] | None:
    """The login the page asks for (None on a loopback address without one); raises ValueError
    with the one line to show when the address is not loopback and none is set, or it is malformed."""
    value = environ.get(AUTH_ENV, "")
    if not value:
        if is_loopback(host):
            return None
        raise ValueError(
            f"--host {host} serves the studio to the network: set {AUTH_ENV}=user:password first "
            f"(or leave --host at {DEFAULT_HOST})"
        )
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{AUTH_ENV} must be user:password")
    return user, password


def _config(args: argparse.Namespace) -> object:
    from bot.config import ConfigError, ModelConfig, load_config

    if args.config is not None:
        if args.model:
            raise ConfigError("--model applies without --config; with it, the config's [model] decides")
        return load_config(args.config)
    config = load_config(None)
    return config.model_copy(update={"model": ModelConfig(id=args.model)}) if args.model else config


def run_studio(args: argparse.Namespace) -> int:
    """Run the studio until Ctrl-C; returns the exit status. Errors are one line on stderr."""
    from bot.config import ConfigError
    from generation.errors import ModelUnavailable

    try:
        auth = studio_auth(args.host, os.environ)
        if not 1 <= args.port <= 65535:
            raise ValueError(f"--port must be 1-65535; got {args.port}")
        config = _config(args)
        presets_file = install_presets(config)  # type: ignore[arg-type]
    except (ValueError, ConfigError) as exc:
        print(f"ambientgen: {exc}", file=sys.stderr)
        return 2
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("ambientgen: the studio needs Gradio: pip install 'ambientgen[studio]'", file=sys.stderr)
        return 2

    from bot.jobs.executor import ExecutorUnavailable
    from bot.studio.context import Studio
    from bot.studio.engine import engine_from_config
    from bot.studio.files import StudioFiles
    from bot.studio.ui import CSS, build_ui

    engine = engine_from_config(config)  # type: ignore[arg-type]
    files = StudioFiles()
    # Gradio's own copies of what handlers return go inside the studio's folder too (read when
    # the page's components are built), so exiting leaves nothing behind.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(files.root / "gradio"))
    log.info("studio files in %s (removed at exit; older than %.0f h pruned)", files.root,
             files.max_age_s / 3600)  # fmt: skip
    try:
        try:
            engine.open()
        except (ModelUnavailable, ExecutorUnavailable) as exc:
            print(f"ambientgen: {exc}", file=sys.stderr)
            return 3
        page = build_ui(Studio(engine, files, presets_file))
        try:
            page.launch(
                server_name=args.host, server_port=args.port, auth=auth, prevent_thread_lock=True,
                allowed_paths=[str(files.root)], css=CSS, quiet=True, footer_links=["api"],
            )  # fmt: skip
        except OSError as exc:
            print(f"ambientgen: can't listen on {args.host}:{args.port} ({exc})", file=sys.stderr)
            return 2
        print(f"AmbientGen studio on http://{args.host}:{args.port} (models: {', '.join(engine.models)}); "
              "Ctrl-C stops it", file=sys.stderr)  # fmt: skip
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        page.close()
        return 0
    finally:
        engine.shutdown()
        files.cleanup()


def install_presets(config: object) -> Path:
    """Offer the presets file's presets (``[presets] file``); returns where the lab saves them.
    Raises ValueError with one line for a bad file."""
    from bot.studio.context import DEFAULT_PRESETS_FILE
    from generation.preset_file import read_preset_file
    from generation.preset_matching import install_extra_presets

    path = getattr(getattr(config, "presets", None), "file", None) or DEFAULT_PRESETS_FILE
    presets = read_preset_file(Path(path))
    install_extra_presets(presets)
    if presets:
        log.info("%d extra preset(s) from %s: %s", len(presets), path, ", ".join(p.key for p in presets))
    return Path(path)
