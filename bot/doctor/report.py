"""One check's outcome and how the doctor prints it: one line, ✓ or ✗ and the fix, no secrets."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

#: Environment variables whose values are secrets: never printed, whatever a check's text says.
SECRET_ENVS = ("DISCORD_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AMBIENTGEN_REDIS_PASSWORD")


@dataclass(frozen=True)
class Result:
    """``what`` is the subject ("torch", "model tiny"); ``detail`` what was found; ``fix`` what to do."""

    ok: bool
    what: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'✓' if self.ok else '✗'} {self.what}: {self.detail}"
        if self.fix:
            text += f" — fix: {self.fix}"
        return " ".join(text.split())  # one line, however a library worded its error


def passed(what: str, detail: str) -> Result:
    return Result(True, what, detail)


def failed(what: str, detail: str, fix: str) -> Result:
    return Result(False, what, detail, fix)


def secrets() -> list[str]:
    """The secret values set in this environment (short ones too: they are still secrets)."""
    return [value.strip() for name in SECRET_ENVS if (value := os.environ.get(name, "")).strip()]


def scrub(text: str, hidden: Iterable[str]) -> str:
    """``text`` with every secret value replaced, longest first (one may contain another)."""
    for value in sorted(set(hidden), key=len, reverse=True):
        text = text.replace(value, "[secret]")
    return text
