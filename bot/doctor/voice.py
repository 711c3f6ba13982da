"""Voice playback's three needs: PyNaCl and davey (discord.py's voice extras), and libopus."""

from __future__ import annotations

import importlib.metadata
import importlib.util

from bot.doctor.report import Result, failed, passed

_FIX = "pip install 'discord.py[voice]' (the bot's own requirements bring it)"


def _module(what: str, module: str, package: str) -> Result:
    if importlib.util.find_spec(module) is None:
        return failed(what, "not installed: /play cannot connect", _FIX)
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        version = "installed"
    return passed(what, version)


def voice() -> list[Result]:
    from bot.voice.support import load_voice_support

    support = load_voice_support()
    opus = (
        passed("libopus", support.detail)
        if support.available
        else failed("libopus", support.detail, "pip install opuslib-next-bundled (it ships libopus)")
    )
    return [opus, _module("PyNaCl", "nacl", "PyNaCl"), _module("davey", "davey", "davey")]
