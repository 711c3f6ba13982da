"""Config keys from the environment: ``AMBIENTGEN_<SECTION>__<KEY>``, as containers and systemd set them.

Only names with the ``__`` between a section and a key are config keys, so the other
``AMBIENTGEN_*`` variables (``AMBIENTGEN_CONFIG``, ``AMBIENTGEN_REDIS_PASSWORD``, test switches
such as ``AMBIENTGEN_E2E_STEP_DELAY_MS``) are never read as one; a name with ``__`` that matches
no key is refused (a typo would otherwise be ignored silently). A value is read as text for a key
that takes text or a path, as true/false (also 1/0, yes/no, on/off) for a switch, and otherwise
as a TOML value: ``150``, ``2.5``, ``[1, 2]``, ``[{ id = "tiny-sao" }]``; a list may also be
written ``1,2``. Whatever does not parse is passed on as text, so the error shows it as written.
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import EnvSettingsSource

from bot.config.checks import ConfigError
from bot.config.messages import sections_of

PREFIX = "AMBIENTGEN_"
DELIMITER = "__"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def variable_name(section: str, key: str) -> str:
    return f"{PREFIX}{section.upper()}{DELIMITER}{key.upper()}"


def config_variables(
    environ: Mapping[str, str], sections: Mapping[str, type[BaseModel]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(section, key) -> (variable name, text) for each config key set in ``environ``.

    Raises ConfigError for a name that looks like a key (``AMBIENTGEN_X__Y``) but is none.
    """
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for name, text in environ.items():
        upper = name.upper()
        if not upper.startswith(PREFIX) or DELIMITER not in upper[len(PREFIX) :]:
            continue
        section, _, key = upper[len(PREFIX) :].lower().partition(DELIMITER)
        if key == "token" or key.endswith("_token"):
            raise ConfigError(
                f"{upper}: the bot token is never read from a config key; set the DISCORD_TOKEN "
                "environment variable instead"
            )
        if section not in sections:
            close = difflib.get_close_matches(section, list(sections), n=1)
            hint = f" (did you mean {variable_name(close[0], key)}?)" if close else ""
            raise ConfigError(
                f"environment variable {upper} names no config section [{section}]{hint}; sections are "
                + ", ".join(f"[{s}]" for s in sections)
            )
        if key not in sections[section].model_fields:
            close = difflib.get_close_matches(key, list(sections[section].model_fields), n=1)
            hint = f" (did you mean {variable_name(section, close[0])}?)" if close else ""
            raise ConfigError(
                f"environment variable {upper} names no config key: [{section}] has no {key}{hint}"
            )
        found[section, key] = (upper, text)
    return found


def _is_text(annotation: Any) -> bool:
    """Whether a key of this type takes text as it is (str, Path, or either or None)."""
    kinds = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if typing.get_origin(annotation) is typing.Union:
        kinds = typing.get_args(annotation)
    return all(kind in (str, Path, type(None)) for kind in kinds)


def decode(text: str, annotation: Any) -> Any:
    """The value of an environment variable for a key of type ``annotation`` (module docstring)."""
    if _is_text(annotation):
        return text
    if annotation is bool:
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        pass
    if typing.get_origin(annotation) is tuple and "," in text:
        return [decode(part.strip(), Any) for part in text.split(",")]
    return text


class EnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading ``AMBIENTGEN_<SECTION>__<KEY>`` as above."""

    def __call__(self) -> dict[str, Any]:
        sections = sections_of(self.settings_cls)
        data: dict[str, dict[str, Any]] = {}
        for (section, key), (_, text) in config_variables(self.env_vars, sections).items():
            annotation = sections[section].model_fields[key].annotation
            data.setdefault(section, {})[key] = decode(text, annotation)
        return data
