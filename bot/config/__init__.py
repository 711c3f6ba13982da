"""The bot's configuration: a TOML file and ``AMBIENTGEN_*`` variables, loaded once at start into
frozen, typed pydantic models (one per section; :class:`Config` holds them, pydantic-settings
reads the environment).

Every section and key is optional (a missing one takes its default); unknown sections and keys,
wrong types and out-of-range values raise :class:`ConfigError`, one line per error, each naming
the key (and the variable it came from), what is allowed and the value. A section built in code
(``QueueConfig(max_queue=5)``) is held to the same rules as one read from a file.

**The environment.** Every key can also be set as ``AMBIENTGEN_<SECTION>__<KEY>`` (e.g.
``AMBIENTGEN_MODEL__ID=tiny``, ``AMBIENTGEN_QUEUE__MAX_USER_COST=150``,
``AMBIENTGEN_DISCORD__COMMAND_GUILDS=[123, 456]``); a variable wins over the file. Values are
parsed as :mod:`bot.config.env` says. Names without the ``__`` (``AMBIENTGEN_CONFIG``,
``AMBIENTGEN_REDIS_PASSWORD``, test switches) are not config keys.

**Adding a key** is one declaration in its section's model, ``name: type = setting(default,
check)`` followed by a docstring (``check``: ``integer(low, high)``, ``number(low, high,
"unit")``, ``boolean``, or a function ``value -> normalised value`` that raises ``fail(expected,
value)``), plus its commented line in ``config.example.toml``; a test checks that the example and
the declarations agree. A new section: a :class:`~bot.config.checks.Section` subclass with its
``SECTION`` name, and one field of :class:`Config` (``bot/config/loading.py``).

Relative paths (``[storage] data_dir``, and a ``[model] id`` written as ``./folder`` or
``../folder``) are resolved against the folder of the config file when loaded from a file, and
against the current directory when no file is given; ``~`` is expanded.

The bot token is never part of the config: it comes only from the ``DISCORD_TOKEN`` environment
variable, and a ``token`` key anywhere in the file (or an ``AMBIENTGEN_*__TOKEN`` variable) is
refused.
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
    LoggingConfig,
    MetricsConfig,
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
    "LoggingConfig",
    "MetricsConfig",
    "ModelConfig",
    "ModelEntry",
    "QueueConfig",
    "StorageConfig",
    "VoiceConfig",
    "load_config",
]
