"""The whole configuration (:class:`Config`) and reading it from a TOML file and the environment
(how to add a key: see :mod:`bot.config`)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.checks import ConfigError, Section, invalid
from bot.config.connections import TOKEN_ENV
from bot.config.env import DELIMITER, PREFIX, EnvSource, config_variables
from bot.config.messages import explain, sections_of
from bot.config.models import ModelConfig
from bot.config.sections import (
    AudioConfig,
    CompareConfig,
    DiscordConfig,
    ExecutorConfig,
    LoggingConfig,
    MetricsConfig,
    QueueConfig,
    StorageConfig,
    VoiceConfig,
)


class Config(BaseSettings):
    """The whole configuration, one attribute per file section; the environment wins over the file.

    Built with keyword arguments (a section's model, or a table of its keys) in code, or by
    :func:`load_config` from a file; either way ``AMBIENTGEN_<SECTION>__<KEY>`` variables apply.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_nested_delimiter=DELIMITER,
        case_sensitive=False,
        frozen=True,
        extra="forbid",
    )

    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    source: Path | None = None
    """The file this came from; None for built-in defaults (never read from the environment)."""

    def __init__(self, /, **values: Any) -> None:
        # A section given as a model becomes its table, so a variable overrides one key of it
        # rather than replacing the whole section.
        tables = {
            name: dict(value) if isinstance(value, Section) else value for name, value in values.items()
        }
        try:
            super().__init__(**tables)
        except ValidationError as exc:
            origins = config_variables(os.environ, sections_of(type(self)))
            raise ConfigError(
                explain(exc, type(self), {where: name for where, (name, _) in origins.items()})
            ) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment first (it wins), then what the file (or the code) gave; no .env files.
        return (EnvSource(settings_cls), init_settings)

    @model_validator(mode="after")
    def _keys_fit_together(self) -> Config:
        # Keys that are fine alone but cannot work together.
        delay_ms, timeout_s = self.model.test_step_delay_ms, self.queue.job_timeout_s
        if delay_ms and delay_ms / 1000 >= timeout_s:
            raise invalid(
                f"[model] test_step_delay_ms must be shorter than [queue] job_timeout_s ({timeout_s:g} s), "
                f"or every generation is declared stuck; the largest usable value is "
                f"{math.ceil(timeout_s * 1000) - 1}; got {delay_ms}",
                whole=True,
            )
        return self

    def summary(self) -> str:
        """One log line of the effective settings (the config holds no secrets)."""
        origin = str(self.source) if self.source is not None else "built-in defaults"
        return " | ".join([origin, *(getattr(self, name).summary() for name in SECTIONS)])


SECTIONS = sections_of(Config)
"""Section name -> its model, in the order of :class:`Config`'s fields."""


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
    # Validation is done: the anchored values are absolute forms of values already checked.
    model = config.model
    changes: dict[str, Any] = {
        "id": _anchored_model_id(model.id, base),
        "also": tuple(dataclasses.replace(e, id=_anchored_model_id(e.id, base)) for e in model.also),
    }
    for key in ("test_hold_file", "test_fail_file"):
        if getattr(model, key) is not None:
            changes[key] = _anchored(getattr(model, key), base)
    storage = config.storage.model_copy(update={"data_dir": _anchored(config.storage.data_dir, base)})
    return config.model_copy(update={"model": model.model_copy(update=changes), "storage": storage})


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


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate the config file at ``path`` and the ``AMBIENTGEN_*`` variables over it;
    ``None`` gives the built-in defaults (and the variables).

    Relative paths are resolved against the file's folder, or the current directory for
    ``None``. Raises ConfigError for anything unusable (one line per error), including a
    ``token`` key.
    """
    if path is None:
        return _anchor(Config(), Path.cwd())
    path = Path(path).expanduser()
    data = _read(path)
    _refuse_token(data, path)
    config = Config(**data)
    path = path.resolve()
    return _anchor(config, path.parent).model_copy(update={"source": path})
