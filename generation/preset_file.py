"""Extra presets from a file: the studio's **Save as preset** writes them, the bot loads them at start.

The file is JSON, ``{"presets": [{"key": …, "label": …, "template": "{text}, …", …}, …]}``, one
object per preset with :class:`~generation.presets.Preset`'s fields (``key``, ``label`` and
``template`` required; ``negative_prompt``, ``guidance``, ``steps``, ``duration_s``,
``description``, ``example`` optional). Extra presets have no keywords: they are never matched
from free text, only chosen by name, so adding one never changes what an existing prompt gets.
Errors are :class:`PresetFileError`, one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from generation.presets import DEFAULT_DURATION_S, DEFAULT_GUIDANCE, DEFAULT_NEGATIVE_PROMPT, Preset
from generation.request import (
    MAX_DURATION_S,
    MAX_GUIDANCE,
    MAX_STEPS,
    MIN_DURATION_S,
    MIN_GUIDANCE,
    MIN_STEPS,
)

log = logging.getLogger(__name__)

#: How many extra presets a file may hold (Discord's autocomplete shows 25 at a time).
MAX_EXTRA_PRESETS = 50
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_FIELDS = {"key", "label", "template", "negative_prompt", "guidance", "steps", "duration_s", "description",
           "example"}  # fmt: skip


class PresetFileError(ValueError):
    """The presets file can't be used; the message is one line for the operator."""


def preset_key(name: str) -> str:
    """A preset key from a typed name: "Crunchy rain 2" → "crunchy-rain-2"."""
    return "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:40].strip("-")


def _number(where: str, entry: dict[str, Any], name: str, low: float, high: float, default: float) -> float:
    value = entry.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PresetFileError(f"{where}: {name} must be a number; got {value!r}")
    if not low <= value <= high:
        raise PresetFileError(f"{where}: {name} must be between {low:g} and {high:g}; got {value!r}")
    return float(value)


def _text(where: str, entry: dict[str, Any], name: str, default: str | None = None) -> str:
    value = entry.get(name, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise PresetFileError(f"{where}: {name} must be a non-empty string; got {value!r}")
    return value.strip()


def preset_from_dict(entry: Any, where: str) -> Preset:
    """One preset of the file; raises :class:`PresetFileError`."""
    if not isinstance(entry, dict):
        raise PresetFileError(f"{where} must be an object with key, label and template")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise PresetFileError(
            f"{where}: unknown field {unknown[0]!r}; fields are {', '.join(sorted(_FIELDS))}"
        )
    key = _text(where, entry, "key")
    if not _KEY.match(key):
        raise PresetFileError(
            f"{where}: key must be lower-case letters, digits and '-', up to 40; got {key!r}"
        )
    steps = _number(where, entry, "steps", MIN_STEPS, MAX_STEPS, 50)
    if steps != int(steps):
        raise PresetFileError(f"{where}: steps must be a whole number; got {steps:g}")
    try:
        return Preset(
            key=key,
            label=_text(where, entry, "label")[:80],
            keywords=(),
            template=_text(where, entry, "template"),
            negative_prompt=_text(where, entry, "negative_prompt", DEFAULT_NEGATIVE_PROMPT),
            guidance=_number(where, entry, "guidance", MIN_GUIDANCE, MAX_GUIDANCE, DEFAULT_GUIDANCE),
            steps=int(steps),
            duration_s=_number(
                where, entry, "duration_s", MIN_DURATION_S, MAX_DURATION_S, DEFAULT_DURATION_S
            ),
            description=_text(where, entry, "description", "")[:200],
            example=_text(where, entry, "example", "")[:200],
        )
    except ValueError as exc:  # the template's own check
        raise PresetFileError(f"{where}: {exc}") from None


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    return {
        "key": preset.key,
        "label": preset.label,
        "template": preset.template,
        "negative_prompt": preset.negative_prompt,
        "guidance": preset.guidance,
        "steps": preset.steps,
        "duration_s": preset.duration_s,
        "description": preset.description,
        "example": preset.example,
    }


def read_preset_file(path: Path) -> list[Preset]:
    """The presets in ``path`` (none when it does not exist yet); raises :class:`PresetFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetFileError(f"presets file {path}: can't read it ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PresetFileError(f"presets file {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    entries = data.get("presets") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise PresetFileError(f'presets file {path}: expected {{"presets": [ … ]}}')
    if len(entries) > MAX_EXTRA_PRESETS:
        raise PresetFileError(
            f"presets file {path}: at most {MAX_EXTRA_PRESETS} presets; it has {len(entries)}"
        )
    presets = [
        preset_from_dict(entry, f"presets file {path}, preset {i + 1}") for i, entry in enumerate(entries)
    ]
    keys = [p.key for p in presets]
    for key in keys:
        if keys.count(key) > 1:
            raise PresetFileError(f"presets file {path}: the key {key!r} is used twice")
    return presets


def save_preset(path: Path, preset: Preset) -> list[Preset]:
    """Add ``preset`` to the file (replacing one of the same key), atomically; returns them all."""
    presets = [p for p in read_preset_file(path) if p.key != preset.key] + [preset]
    if len(presets) > MAX_EXTRA_PRESETS:
        raise PresetFileError(f"presets file {path} is full ({MAX_EXTRA_PRESETS} presets); remove some first")
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"presets": [preset_to_dict(p) for p in presets]}, indent=2, ensure_ascii=False)
    # Written beside and renamed over: a bot starting meanwhile reads the old or the new file, never half.
    fd, part = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body + "\n")
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return presets
