"""pydantic's validation errors turned into the config's own lines: one per error, each naming the
key (and the environment variable it came from), what is allowed and the value as written."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


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


def sections_of(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Section name -> model: the fields of ``root`` that are sections, or ``root`` itself."""
    own = getattr(root, "SECTION", None)
    if isinstance(own, str):
        return {own: root}
    return {
        name: info.annotation
        for name, info in root.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    }


def suggestion(key: str, section: str | None, sections: Mapping[str, type[BaseModel]]) -> str:
    """`` (did you mean …?)`` from close key names, preferring the same section; else ``""``."""
    if section is not None and section in sections:
        close = difflib.get_close_matches(key, list(sections[section].model_fields), n=1)
        if close:
            return f" (did you mean {close[0]}?)"
    by_name: dict[str, str] = {}
    for name, model in sections.items():
        if name != section:
            for field in model.model_fields:
                by_name.setdefault(field, f"[{name}] {field}")
    if section is None:
        for name in sections:
            by_name.setdefault(name, f"[{name}]")
    close = difflib.get_close_matches(key, list(by_name), n=1)
    return f" (did you mean {by_name[close[0]]}?)" if close else ""


def explain(
    exc: ValidationError, root: type[BaseModel], origins: Mapping[tuple[str, str], str] | None = None
) -> str:
    """One line per error of ``exc`` (raised validating ``root``: the whole config or a section).

    ``origins`` maps (section, key) to the environment variable a value came from, so the line
    names the variable the operator has to fix.
    """
    sections = sections_of(root)
    own = getattr(root, "SECTION", None)
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        if isinstance(own, str):
            loc = (own, *loc)
        line = _line(error, loc, sections, origins or {})
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _line(
    error: Mapping[str, Any],
    loc: tuple[str, ...],
    sections: Mapping[str, type[BaseModel]],
    origins: Mapping[tuple[str, str], str],
) -> str:
    kind, value = error["type"], error.get("input")
    context = error.get("ctx") or {}
    if not loc:
        return str(context.get("text", error["msg"]))
    section, key = loc[0], loc[1] if len(loc) > 1 else None
    model = sections.get(section)
    if model is None:  # a top-level name that is no section
        what = "section" if isinstance(value, Mapping) else "key"
        shown = f"[{section}]" if what == "section" else section
        return f"unknown {what} {shown}{suggestion(section, None, sections)}; sections are " + ", ".join(
            f"[{name}]" for name in sections
        )
    if key is None:
        if kind == "config":
            return str(context["text"])
        return f"[{section}] must be a table (a [{section}] header with key = value lines)"
    label = f"[{section}] {key}"
    if (section, key) in origins:
        label += f" (from {origins[section, key]})"
    if kind == "extra_forbidden":
        return f"unknown key {label}{suggestion(key, section, sections)}"
    if kind == "config":
        return str(context["text"]) if context.get("whole") else f"{label} {context['text']}"
    field = model.model_fields.get(key)
    extra = field.json_schema_extra if field is not None else None
    expected = extra.get("expected") if isinstance(extra, dict) else None
    if isinstance(expected, str):
        if kind == "finite_number":
            expected = "a finite " + expected.removeprefix("a ")
        return f"{label} must be {expected}; got {show(value)}"
    return f"{label}: {error['msg']}; got {show(value)}"
