"""The bot's configuration: one TOML file loaded once at start into frozen, validated dataclasses.

Every section and key is optional (a missing one takes its default); unknown sections and keys,
wrong types and out-of-range values raise :class:`ConfigError` naming the key and what is
allowed. Each dataclass validates itself on construction, so a ``Config`` built in code is held
to the same rules as one read from a file.

Relative paths (``[storage] data_dir``, and a ``[model] id`` written as ``./folder`` or
``../folder``) are resolved against the folder of the config file when loaded from a file, and
against the current directory when no file is given; ``~`` is expanded.

The bot token is never part of the config: it comes only from the ``DISCORD_TOKEN`` environment
variable, and a ``token`` key anywhere in the file is refused.
"""

from bot.config.checks import ConfigError
from bot.config.connections import REDIS_PASSWORD_ENV, TOKEN_ENV, TOKEN_MARGIN_S
from bot.config.loading import Config, load_config
from bot.config.models import ModelConfig, ModelEntry
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

__all__ = [
    "REDIS_PASSWORD_ENV",
    "TOKEN_ENV",
    "TOKEN_MARGIN_S",
    "AudioConfig",
    "CompareConfig",
    "Config",
    "ConfigError",
    "DiscordConfig",
    "ExecutorConfig",
    "ModelConfig",
    "ModelEntry",
    "PresetsConfig",
    "QueueConfig",
    "StorageConfig",
    "VoiceConfig",
    "load_config",
]
