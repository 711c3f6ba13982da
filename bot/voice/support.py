"""Whether this bot can speak in voice: libopus (loaded by path at start), PyNaCl and davey.

libopus comes first from the ``opuslib-next-bundled`` package, which pip installs with the bot
and which carries the library file itself; it is loaded by its path, so no system package is
needed. Without it the system's libopus is used. A bot without a usable libopus (or without
discord.py's voice extras) runs everything but voice, and ``/play`` says why.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import discord.opus

log = logging.getLogger(__name__)

#: The package that ships a libopus binary, and where in it the library sits.
BUNDLED_PACKAGE = "opuslib_next"
_BUNDLED_NAMES = {"linux": "libopus.so", "darwin": "libopus.dylib", "win32": "opus.dll"}
#: The Python modules discord.py's voice client needs (``discord.py[voice]``).
VOICE_MODULES = {"nacl": "PyNaCl", "davey": "davey"}


@dataclass(frozen=True)
class VoiceSupport:
    """What :func:`load_voice_support` found: usable or not, and a line saying what or why."""

    available: bool
    detail: str


def bundled_library() -> Path | None:
    """The libopus file inside the installed ``opuslib-next-bundled`` package, if any."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    name = next((n for prefix, n in _BUNDLED_NAMES.items() if sys.platform.startswith(prefix)), None)
    path = Path(spec.origin).parent / "_native" / name if name else None
    return path if path is not None and path.is_file() else None


def library_candidates() -> Iterator[tuple[str, str]]:
    """``(where, path or name)`` of each libopus to try, preferred first."""
    bundled = bundled_library()
    if bundled is not None:
        yield "the opuslib-next-bundled package", str(bundled)
    system = ctypes.util.find_library("opus")
    if system is not None:
        yield "the system", system


def _missing_modules() -> list[str]:
    return [package for module, package in VOICE_MODULES.items() if importlib.util.find_spec(module) is None]


def load_voice_support(
    candidates: Callable[[], Iterator[tuple[str, str]]] = library_candidates,
    load: Callable[[str], None] = discord.opus.load_opus,
) -> VoiceSupport:
    """Load libopus (once per process) and check the voice modules; never raises."""
    missing = _missing_modules()
    if missing:
        return VoiceSupport(
            False,
            f"the Python package{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
            "(discord.py[voice]) is not installed",
        )
    if discord.opus.is_loaded():
        return VoiceSupport(True, f"{_version()} (already loaded)")
    tried: list[str] = []
    for where, path in candidates():
        try:
            load(path)
        except OSError as exc:
            log.warning("libopus from %s (%s) could not be loaded: %s", where, path, exc)
            tried.append(where)
            continue
        return VoiceSupport(True, f"{_version()} from {where}")
    checked = f" (tried {', '.join(tried)})" if tried else ""
    return VoiceSupport(
        False,
        "no usable libopus was found" + checked + ": reinstall the bot with pip (it brings "
        "opuslib-next-bundled) or install the system's libopus (e.g. `apt install libopus0`)",
    )


def _version() -> str:
    try:
        return discord.opus._OpusStruct.get_opus_version()
    except Exception:  # the version is only for the log line
        return "libopus (version unknown)"
