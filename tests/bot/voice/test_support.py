"""libopus is loaded by path from the pip package first, then the system's; a missing one is explained."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import discord.opus
import pytest

from bot.voice import support
from bot.voice.support import bundled_library, library_candidates, load_voice_support


def test_the_pip_installed_library_comes_first() -> None:
    bundled = bundled_library()
    assert bundled is not None and bundled.is_file()
    where, path = next(library_candidates())
    assert (where, path) == ("the opuslib-next-bundled package", str(bundled))


def test_it_loads_and_encodes() -> None:
    found = load_voice_support()
    assert found.available, found.detail
    assert discord.opus.is_loaded()
    assert len(discord.opus.Encoder().encode(b"\0" * 3840, 960)) > 0


def test_a_broken_candidate_falls_back_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.opus, "is_loaded", lambda: False)
    tried: list[str] = []

    def candidates() -> Iterator[tuple[str, str]]:
        yield "the opuslib-next-bundled package", "/nowhere/libopus.so"
        yield "the system", "libopus.so.0"

    def load(path: str) -> None:
        tried.append(path)
        if path.startswith("/nowhere"):
            raise OSError("cannot open shared object file")

    found = load_voice_support(candidates, load)
    assert found.available and "from the system" in found.detail
    assert tried == ["/nowhere/libopus.so", "libopus.so.0"]


def test_no_library_means_no_voice_and_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.opus, "is_loaded", lambda: False)

    def load(path: str) -> None:
        raise OSError("nope")

    found = load_voice_support(lambda: iter([("the system", "libopus.so.0")]), load)
    assert not found.available
    assert "tried the system" in found.detail and "apt install libopus0" in found.detail
    assert not load_voice_support(lambda: iter(()), load).available


def test_missing_voice_modules_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        support.importlib.util, "find_spec", lambda name: None if name == "davey" else real(name)
    )
    found = load_voice_support()
    assert not found.available and "davey" in found.detail and "discord.py[voice]" in found.detail
