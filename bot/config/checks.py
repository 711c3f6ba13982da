"""How a key is declared (:func:`setting`), the value checks it goes through, and the section base.

A key is one line in a section model: ``name: type = setting(default, check)`` and a docstring.
``check`` is either a rule pydantic enforces itself (:func:`integer`, :func:`number`,
:data:`boolean`: strict types and bounds, so ``"30"`` or ``true`` is not a number) or a
function ``value -> normalised value`` that raises :func:`fail` (run before pydantic's own type
check). Either way a refused value becomes one line: the key, what is allowed, the value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from bot.config.messages import explain, show


class ConfigError(Exception):
    """The configuration is unusable; each line names a key, the problem and what is allowed."""


def invalid(text: str, *, whole: bool = False) -> PydanticCustomError:
    """A refusal pydantic carries to :func:`bot.config.messages.explain`.

    ``text`` follows the key's name ("must be …; got …"); with ``whole`` it is the entire line
    (checks over several keys name them themselves).
    """
    # The text goes in the context, not the template, so braces in it are not format fields.
    return PydanticCustomError("config", "{text}", {"text": text, "whole": whole})


def fail(expected: str, value: Any) -> PydanticCustomError:
    return invalid(f"must be {expected}; got {show(value)}")


Check = Callable[[Any], Any]
"""``check(value)`` returns the normalised value or raises :func:`fail`."""


@dataclass(frozen=True)
class Rule:
    """A check pydantic runs itself: ``Field`` arguments and the words for what is allowed."""

    expected: str
    constraints: dict[str, Any] = field(default_factory=dict)


def integer(low: int | None = None, high: int | None = None) -> Rule:
    expected = "an integer" if low is None or high is None else f"an integer between {low} and {high}"
    return Rule(expected, {"strict": True, "ge": low, "le": high})


def number(low: float | None = None, high: float | None = None, unit: str = "") -> Rule:
    noun = f"a number of {unit}" if unit else "a number"
    expected = f"{noun} between {low:g} and {high:g}" if low is not None and high is not None else noun
    # strict: an int is a number, a bool or a string is not; allow_inf_nan: nan and inf are refused.
    return Rule(expected, {"strict": True, "ge": low, "le": high, "allow_inf_nan": False})


boolean = Rule("true or false", {"strict": True})


def setting(default: Any, check: Rule | Check) -> Any:
    """A section field: its default and its check (see the module docstring)."""
    if isinstance(check, Rule):
        return Field(default, json_schema_extra={"expected": check.expected}, **check.constraints)
    info = Field(default)
    info.metadata.append(BeforeValidator(check))
    return info


def true_or_false(value: Any) -> bool:
    """The check of :data:`boolean` for a value pydantic does not see as a field (a list's entry)."""
    if not isinstance(value, bool):
        raise fail(boolean.expected, value)
    return value


def nonblank_text(value: Any, expected: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(expected, value)
    return value.strip()


def one_of(options: tuple[str, ...], *, auto_is_none: bool = False) -> Check:
    """One of ``options`` (case-insensitive); with ``auto_is_none``, "auto" (or None) means None."""
    allowed = (("auto",) if auto_is_none else ()) + options
    expected = "one of " + ", ".join(json.dumps(o) for o in allowed)

    def check(value: Any) -> str | None:
        if value is None and auto_is_none:
            return None
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise fail(expected, value)
        choice = value.strip().lower()
        return None if auto_is_none and choice == "auto" else choice

    return check


def directory(value: Any) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    return Path(nonblank_text(value, "a folder path")).expanduser()


def optional_path(value: Any) -> Path | None:
    """A file path; "" (or None) means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Path):
        return value.expanduser()
    return Path(nonblank_text(value, 'a file path, or "" for none')).expanduser()


class Section(BaseModel):
    """Base of the section models: frozen, no unknown keys, and ConfigError instead of pydantic's
    ValidationError when one is built in code."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    SECTION: ClassVar[str]

    def __init__(self, /, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(explain(exc, type(self))) from None

    # Nested in Config, pydantic validates a section itself instead of calling this __init__, so
    # the errors of every section come together (and name their environment variables).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def summary(self) -> str:
        values = " ".join(f"{name}={brief(getattr(self, name))}" for name in type(self).model_fields)
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
