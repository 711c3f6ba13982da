"""The value checks every config key goes through, and the base of the section dataclasses."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, ClassVar


class ConfigError(Exception):
    """The configuration is unusable; the message names the key, the problem and what is allowed."""


Check = Callable[[str, Any], Any]
"""``check(key, value)`` returns the normalised value or raises ConfigError naming ``key``."""


def show(value: Any) -> str:
    """A value as it would be written in TOML, shortened so a message stays one readable line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    elif isinstance(value, Mapping):
        text = "a table"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be {expected}; got {show(value)}")


def integer(low: int | None = None, high: int | None = None) -> Check:
    expected = "an integer" if low is None or high is None else f"an integer between {low} and {high}"

    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(key, expected, value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise fail(key, expected, value)
        return value

    return check


def number(low: float | None = None, high: float | None = None, unit: str = "") -> Check:
    noun = f"a number of {unit}" if unit else "a number"
    expected = f"{noun} between {low:g} and {high:g}" if low is not None and high is not None else noun

    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, expected, value)
        number = float(value)
        if not math.isfinite(number):
            raise fail(key, f"a finite {expected.removeprefix('a ')}", value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise fail(key, expected, value)
        return number

    return check


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "true or false", value)
    return value


def nonblank_text(key: str, value: Any, expected: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(key, expected, value)
    return value.strip()


def one_of(options: tuple[str, ...], *, auto_is_none: bool = False) -> Check:
    """One of ``options`` (case-insensitive); with ``auto_is_none``, "auto" (or None) means None."""
    allowed = (("auto",) if auto_is_none else ()) + options
    expected = "one of " + ", ".join(json.dumps(o) for o in allowed)

    def check(key: str, value: Any) -> str | None:
        if value is None and auto_is_none:
            return None
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise fail(key, expected, value)
        choice = value.strip().lower()
        return None if auto_is_none and choice == "auto" else choice

    return check


def directory(key: str, value: Any) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    return Path(nonblank_text(key, value, "a folder path")).expanduser()


def optional_path(key: str, value: Any) -> Path | None:
    """A file path; "" (or None) means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Path):
        return value.expanduser()
    return Path(nonblank_text(key, value, 'a file path, or "" for none')).expanduser()


def setting(default: Any, check: Check) -> Any:
    """A dataclass field whose value ``check`` validates and normalises on construction."""
    return field(default=default, metadata={"check": check})


class Section:
    """Base of the section dataclasses: runs each field's check and stores the normalised value."""

    SECTION: ClassVar[str]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = f.metadata["check"](f"[{self.SECTION}] {f.name}", getattr(self, f.name))
            object.__setattr__(self, f.name, value)

    def summary(self) -> str:
        values = " ".join(f"{f.name}={brief(getattr(self, f.name))}" for f in dataclasses.fields(self))
        return f"[{self.SECTION}] {values}"


def brief(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)
