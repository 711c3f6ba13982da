"""The whole configuration (:class:`Config`) and reading it from a TOML file."""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.checks import ConfigError, Section
from bot.config.connections import TOKEN_ENV
from bot.config.models import ModelConfig
from bot.config.sections import (
    AudioConfig,
    CompareConfig,
    DiscordConfig,
    ExecutorConfig,
    PresetsConfig,
    QueueConfig,
    StorageConfig,
    VoiceConfig,
)

SECTIONS: dict[str, type[Section]] = {
    cls.SECTION: cls
    for cls in (
        DiscordConfig,
        ModelConfig,
        StorageConfig,
        QueueConfig,
        AudioConfig,
        VoiceConfig,
        ExecutorConfig,
        CompareConfig,
        PresetsConfig,
    )
}


@dataclass(frozen=True)
class Config:
    """The whole configuration, one attribute per file section."""

    discord: DiscordConfig = field(default_factory=DiscordConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    presets: PresetsConfig = field(default_factory=PresetsConfig)
    source: Path | None = None
    """The file this came from; None for built-in defaults."""

    def __post_init__(self) -> None:
        # Keys that are fine alone but cannot work together.
        delay_ms, timeout_s = self.model.test_step_delay_ms, self.queue.job_timeout_s
        if delay_ms and delay_ms / 1000 >= timeout_s:
            raise ConfigError(
                f"[model] test_step_delay_ms must be shorter than [queue] job_timeout_s ({timeout_s:g} s), "
                f"or every generation is declared stuck; the largest usable value is "
                f"{math.ceil(timeout_s * 1000) - 1}; got {delay_ms}"
            )

    def summary(self) -> str:
        """One log line of the effective settings (the config holds no secrets)."""
        origin = str(self.source) if self.source is not None else "built-in defaults"
        return " | ".join([origin, *(getattr(self, name).summary() for name in SECTIONS)])


# --- loading ------------------------------------------------------------------------------------


def _anchored(path: Path, base: Path) -> Path:
    """``path`` made absolute against ``base`` (``~`` expanded, ``..`` resolved)."""
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _anchored_model_id(model_id: str, base: Path) -> str:
    """A model id written as a path (``./x``, ``../x``, ``~/x``) made absolute; hub ids unchanged."""
    if model_id in (".", "..") or model_id.startswith(("./", "../", ".\\", "..\\", "~")):
        return str(_anchored(Path(model_id), base))
    return model_id


def _anchor(config: Config, base: Path) -> Config:
    model = config.model
    anchored_id = _anchored_model_id(model.id, base)
    if anchored_id != model.id:
        model = dataclasses.replace(model, id=anchored_id)
    also = tuple(dataclasses.replace(e, id=_anchored_model_id(e.id, base)) for e in model.also)
    if also != model.also:
        model = dataclasses.replace(model, also=also)
    for key in ("test_hold_file", "test_fail_file"):
        if getattr(model, key) is not None:
            model = dataclasses.replace(model, **{key: _anchored(getattr(model, key), base)})
    presets = config.presets
    if presets.file is not None:
        presets = dataclasses.replace(presets, file=_anchored(presets.file, base))
    return dataclasses.replace(
        config,
        model=model,
        storage=dataclasses.replace(config.storage, data_dir=_anchored(config.storage.data_dir, base)),
        presets=presets,
    )


def _refuse_token(table: Mapping[str, Any], path: Path, where: str = "") -> None:
    """Raise if a token-like key appears anywhere (the value is never shown)."""
    for key, value in table.items():
        lowered = key.lower()
        if lowered == "token" or lowered.endswith("_token"):
            place = f"[{where}] {key}" if where else key
            raise ConfigError(
                f"{place}: the bot token is never read from the config file; remove it from {path} "
                f"and set the {TOKEN_ENV} environment variable instead"
            )
        inner = f"{where}.{key}" if where else key
        tables = [value] if isinstance(value, Mapping) else value if isinstance(value, list) else []
        for item in tables:
            if isinstance(item, Mapping):
                _refuse_token(item, path, inner)


def _suggestion(key: str, section: str | None) -> str:
    """`` (did you mean …?)`` from close key names, preferring the same section; else ``""``."""
    if section is not None:
        known = [f.name for f in dataclasses.fields(SECTIONS[section])]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return f" (did you mean {close[0]}?)"
    elsewhere = {
        f"[{name}] {f.name}": f.name
        for name, cls in SECTIONS.items()
        if name != section
        for f in dataclasses.fields(cls)
    }
    if section is None:
        elsewhere.update({f"[{name}]": name for name in SECTIONS})
    by_name: dict[str, str] = {}
    for label, name in elsewhere.items():
        by_name.setdefault(name, label)
    close = difflib.get_close_matches(key, list(by_name), n=1)
    return f" (did you mean {by_name[close[0]]}?)" if close else ""


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a folder, not a file: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text: {path} (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", message)
        if where is None:
            raise ConfigError(f"invalid TOML in {path}: {message}") from None
        detail = message[: where.start()]
        raise ConfigError(f"invalid TOML in {path}: {where.group(1)}: {detail}") from None


def _build(data: Mapping[str, Any]) -> Config:
    sections: dict[str, Section] = {}
    for name, table in data.items():
        if name not in SECTIONS:
            what = "section" if isinstance(table, Mapping) else "key"
            shown = f"[{name}]" if what == "section" else name
            raise ConfigError(
                f"unknown {what} {shown}{_suggestion(name, None)}; sections are "
                + ", ".join(f"[{s}]" for s in SECTIONS)
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{name}] must be a table (a [{name}] header with key = value lines)")
        cls = SECTIONS[name]
        known = {f.name for f in dataclasses.fields(cls)}
        for key in table:
            if key not in known:
                raise ConfigError(f"unknown key [{name}] {key}{_suggestion(key, name)}")
        sections[name] = cls(**table)
    return Config(**sections)


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate the config file at ``path``; ``None`` gives the built-in defaults.

    Relative paths are resolved against the file's folder, or the current directory for
    ``None``. Raises ConfigError for anything unusable, including a ``token`` key.
    """
    if path is None:
        return _anchor(Config(), Path.cwd())
    path = Path(path).expanduser()
    data = _read(path)
    _refuse_token(data, path)
    config = _build(data)
    path = path.resolve()
    return dataclasses.replace(_anchor(config, path.parent), source=path)
