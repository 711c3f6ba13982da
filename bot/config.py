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

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from bot.jobs.admission import Limits
from generation.audio.finishing import FinishSettings
from generation.models import ModelCatalog
from generation.settings import (
    DEFAULT_MODEL_ID,
    DTYPES,
    OFFLOAD_MODES,
    TINY_MODEL_IDS,
    EngineSettings,
    model_display_name,
)

__all__ = [
    "TOKEN_ENV",
    "AudioConfig",
    "CompareConfig",
    "Config",
    "ConfigError",
    "DiscordConfig",
    "ExecutorConfig",
    "ModelConfig",
    "ModelEntry",
    "QueueConfig",
    "StorageConfig",
    "VoiceConfig",
    "load_config",
]

#: The only place the bot token is read from.
TOKEN_ENV = "DISCORD_TOKEN"

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_DATA_DIR = Path("./data")

#: The bot stops using an interaction token this long before Discord expires it (clock skew, slow
#: uploads); the messenger reads it from here, so the config can refuse a TTL it would never use.
TOKEN_MARGIN_S = 60.0
#: Shortest ``interaction_ttl_s`` that leaves a token usable for a minute after the margin.
MIN_INTERACTION_TTL_S = TOKEN_MARGIN_S + 60.0
#: Discord's interaction tokens last 15 minutes.
MAX_INTERACTION_TTL_S = 900.0

#: Discord snowflakes are unsigned 64-bit integers.
_MAX_SNOWFLAKE = 2**64 - 1

_DEVICE_RE = re.compile(r"(cpu|mps|cuda(:\d+)?)")
_QUEUE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: Where a Redis password is read from (never from the config file, like the bot token).
REDIS_PASSWORD_ENV = "AMBIENTGEN_REDIS_PASSWORD"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ConfigError(Exception):
    """The configuration is unusable; the message names the key, the problem and what is allowed."""


# --- value checks -------------------------------------------------------------------------------

Check = Callable[[str, Any], Any]
"""``check(key, value)`` returns the normalised value or raises ConfigError naming ``key``."""


def _show(value: Any) -> str:
    """A value as it would be written in TOML, shortened so a message stays one readable line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_show(v) for v in value) + "]"
    elif isinstance(value, Mapping):
        text = "a table"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be {expected}; got {_show(value)}")


def _integer(low: int | None = None, high: int | None = None) -> Check:
    expected = "an integer" if low is None or high is None else f"an integer between {low} and {high}"

    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(key, expected, value)
        if (low is not None and value < low) or (high is not None and value > high):
            raise _fail(key, expected, value)
        return value

    return check


def _number(low: float | None = None, high: float | None = None, unit: str = "") -> Check:
    noun = f"a number of {unit}" if unit else "a number"
    expected = f"{noun} between {low:g} and {high:g}" if low is not None and high is not None else noun

    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(key, expected, value)
        number = float(value)
        if not math.isfinite(number):
            raise _fail(key, f"a finite {expected.removeprefix('a ')}", value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise _fail(key, expected, value)
        return number

    return check


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "true or false", value)
    return value


def _text(key: str, value: Any, expected: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, expected, value)
    return value.strip()


def _choice(options: tuple[str, ...], *, auto_is_none: bool = False) -> Check:
    """One of ``options`` (case-insensitive); with ``auto_is_none``, "auto" (or None) means None."""
    allowed = (("auto",) if auto_is_none else ()) + options
    expected = "one of " + ", ".join(json.dumps(o) for o in allowed)

    def check(key: str, value: Any) -> str | None:
        if value is None and auto_is_none:
            return None
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise _fail(key, expected, value)
        choice = value.strip().lower()
        return None if auto_is_none and choice == "auto" else choice

    return check


def _device(key: str, value: Any) -> str | None:
    expected = '"auto", "cpu", "cuda", "cuda:N" (a GPU index) or "mps"'
    if value is None:
        return None
    if not isinstance(value, str) or not (
        value.strip().lower() == "auto" or _DEVICE_RE.fullmatch(value.strip().lower())
    ):
        raise _fail(key, expected, value)
    device = value.strip().lower()
    return None if device == "auto" else device


def _api_base_url(key: str, value: Any) -> str:
    expected = f'an http:// or https:// URL such as "{DEFAULT_API_BASE_URL}"'
    if not isinstance(value, str):
        raise _fail(key, expected, value)
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise _fail(key, expected, value) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise _fail(key, expected, value)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{key} must not contain a user name or password; got a URL with credentials")
    if parts.query or parts.fragment:
        raise _fail(key, f"{expected}, without ?query or #fragment", value)
    if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{key} must use https:// unless its host is a loopback address (127.0.0.1, ::1 or "
            f"localhost): over plain http:// the bot token would cross the network unencrypted; "
            f"got {_show(value)}"
        )
    return url


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (a stand-in or proxy for tests)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _interaction_ttl(key: str, value: Any) -> float:
    seconds = _number(unit="seconds")(key, value)
    if seconds < MIN_INTERACTION_TTL_S:
        raise ConfigError(
            f"{key} must be at least {MIN_INTERACTION_TTL_S:g} seconds: the bot stops using a token "
            f"{TOKEN_MARGIN_S:g} s before this time is up, so a shorter one leaves no time to reply "
            f"through it; got {_show(value)}"
        )
    if seconds > MAX_INTERACTION_TTL_S:
        raise _fail(
            key, f"at most {MAX_INTERACTION_TTL_S:g} seconds (Discord's tokens last 15 minutes)", value
        )
    return seconds


def _guild_ids(key: str, value: Any) -> tuple[int, ...]:
    expected = "a list of guild ids (positive integers or digit strings), e.g. [123456789012345678]"
    if not isinstance(value, list | tuple):
        raise _fail(key, expected, value)
    ids: list[int] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            guild = int(item.strip())
        elif isinstance(item, int) and not isinstance(item, bool):
            guild = item
        else:
            raise _fail(f"{key} entry {position}", "a guild id (a positive integer or digit string)", item)
        if not 0 < guild <= _MAX_SNOWFLAKE:
            raise _fail(f"{key} entry {position}", f"a guild id between 1 and {_MAX_SNOWFLAKE}", item)
        if guild not in ids:
            ids.append(guild)
    return tuple(ids)


def _shard_ids(key: str, value: Any) -> tuple[int, ...]:
    expected = "a list of shard numbers (integers from 0), e.g. [0, 1]"
    if not isinstance(value, list | tuple):
        raise _fail(key, expected, value)
    ids: list[int] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise _fail(f"{key} entry {position}", "a shard number (an integer from 0)", item)
        if item not in ids:
            ids.append(item)
    return tuple(sorted(ids))


def _redis_url(key: str, value: Any) -> str:
    expected = f'a redis://, rediss:// or unix:// URL such as "{DEFAULT_REDIS_URL}"'
    if not isinstance(value, str):
        raise _fail(key, expected, value)
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise _fail(key, expected, value) from None
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "unix") or any(c.isspace() for c in url):
        raise _fail(key, expected, value)
    if scheme != "unix" and not parts.hostname:
        raise _fail(key, expected, value)
    if scheme == "unix" and not parts.path:
        raise _fail(key, f"{expected} (unix:// needs the socket's path)", value)
    if parts.password is not None:
        raise ConfigError(
            f"{key} must not contain a password; set the {REDIS_PASSWORD_ENV} environment variable instead"
        )
    return url


def _queue_name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _QUEUE_NAME_RE.fullmatch(value.strip()):
        raise _fail(key, "1 to 64 letters, digits, '.', '_' or '-'", value)
    return value.strip()


def _model_id(key: str, value: Any) -> str:
    return _text(key, value, '"tiny", a Hugging Face model id or the path of a model folder')


#: The keys of one ``[model] also`` entry besides its ``id``, and their checks.
_ENTRY_CHECKS: dict[str, Check] = {
    "device": _device,
    "dtype": _choice(DTYPES, auto_is_none=True),
    "offload": _choice(OFFLOAD_MODES),
    "compile": _boolean,
}


@dataclass(frozen=True)
class ModelEntry:
    """One more model of ``[model] also``: its id, and the keys it sets itself (the others are
    ``[model]``'s)."""

    id: str
    overrides: tuple[tuple[str, Any], ...] = ()
    """(key, normalised value) for each of device, dtype, offload and compile it sets."""

    def __str__(self) -> str:
        own = ",".join(f"{key}={_brief(value)}" for key, value in self.overrides)
        return f"{self.id}({own})" if own else self.id


def _model_entries(key: str, value: Any) -> tuple[ModelEntry, ...]:
    expected = 'a list of tables such as [{ id = "tiny-sao", dtype = "float32" }]'
    if isinstance(value, tuple) and all(isinstance(v, ModelEntry) for v in value):
        return value
    if not isinstance(value, list | tuple):
        raise _fail(key, expected, value)
    entries: list[ModelEntry] = []
    for position, item in enumerate(value, start=1):
        where = f"{key} entry {position}"
        if isinstance(item, ModelEntry):
            entries.append(item)
            continue
        if not isinstance(item, Mapping):
            raise _fail(where, 'a table with an id, e.g. { id = "tiny-sao" }', item)
        unknown = sorted(set(item) - {"id", *_ENTRY_CHECKS})
        if unknown:
            allowed = ", ".join(["id", *_ENTRY_CHECKS])
            raise ConfigError(
                f"{where} has an unknown key {unknown[0]} (an entry may set {allowed}); "
                f"got a table with {', '.join(sorted(map(str, item)))}"
            )
        if "id" not in item:
            raise ConfigError(f'{where} needs an id, e.g. {{ id = "tiny-sao" }}; got a table without one')
        model_id = _model_id(f"{where} id", item["id"])
        overrides = tuple(
            (name, check(f"{where} {name}", item[name]))
            for name, check in _ENTRY_CHECKS.items()
            if name in item
        )
        entries.append(ModelEntry(model_id, overrides))
    return tuple(entries)


def _directory(key: str, value: Any) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    return Path(_text(key, value, "a folder path")).expanduser()


def _optional_path(key: str, value: Any) -> Path | None:
    """A file path; "" (or None) means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Path):
        return value.expanduser()
    return Path(_text(key, value, 'a file path, or "" for none')).expanduser()


def _setting(default: Any, check: Check) -> Any:
    """A dataclass field whose value ``check`` validates and normalises on construction."""
    return field(default=default, metadata={"check": check})


# --- sections -----------------------------------------------------------------------------------


class _Section:
    """Base of the section dataclasses: runs each field's check and stores the normalised value."""

    SECTION: ClassVar[str]

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = f.metadata["check"](f"[{self.SECTION}] {f.name}", getattr(self, f.name))
            object.__setattr__(self, f.name, value)

    def summary(self) -> str:
        values = " ".join(f"{f.name}={_brief(getattr(self, f.name))}" for f in dataclasses.fields(self))
        return f"[{self.SECTION}] {values}"


def _brief(value: Any) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class DiscordConfig(_Section):
    """``[discord]``: where the API is and how the bot talks to it."""

    SECTION: ClassVar[str] = "discord"

    api_base_url: str = _setting(DEFAULT_API_BASE_URL, _api_base_url)
    """REST API root (a trailing slash is dropped); point it at a Discord-compatible server to test."""
    command_guilds: tuple[int, ...] = _setting((), _guild_ids)
    """Guilds to sync slash commands to at start (instant); empty: one global sync."""
    sync_commands: bool = _setting(True, _boolean)
    """Sync slash commands with Discord at start."""
    status_interval_s: float = _setting(1.5, _number(0.5, 60.0, "seconds"))
    """Minimum time between two edits of one status message."""
    interaction_ttl_s: float = _setting(MAX_INTERACTION_TTL_S, _interaction_ttl)
    """How long an interaction token is used; after that results go to the channel. The bot stops
    :data:`TOKEN_MARGIN_S` before it, so a shorter TTL would leave no time to use the token."""
    post_timeout_s: float = _setting(60.0, _number(1.0, 600.0, "seconds"))
    """How long one result upload may take before its outcome is treated as unknown (then the
    channel is searched for it before anything is posted again)."""
    shard_count: int = _setting(0, _integer(0, 100_000))
    """Gateway shards in all; 0: as many as ``GET /gateway/bot`` recommends."""
    shard_ids: tuple[int, ...] = _setting((), _shard_ids)
    """The shards this process runs (needs ``shard_count``); empty: all of them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shard_ids and not self.shard_count:
            raise ConfigError(
                "[discord] shard_ids needs [discord] shard_count (the total over every bot process); "
                f"got shard_ids = {_show(list(self.shard_ids))} with shard_count = 0"
            )
        too_big = [i for i in self.shard_ids if i >= self.shard_count]
        if self.shard_count and too_big:
            raise ConfigError(
                f"[discord] shard_ids entries must be below shard_count ({self.shard_count}); "
                f"got {_show(too_big)}"
            )


@dataclass(frozen=True)
class ModelConfig(_Section):
    """``[model]``: which model is loaded and how."""

    SECTION: ClassVar[str] = "model"

    id: str = _setting(DEFAULT_MODEL_ID, _model_id)
    """"tiny" (built-in test model), a Hugging Face model id, or a local checkpoint folder."""
    device: str | None = _setting(None, _device)
    """"cpu", "cuda", "cuda:N", "mps"; None: CUDA when present, else the CPU."""
    dtype: str | None = _setting(None, _choice(DTYPES, auto_is_none=True))
    """One of DTYPES; None: float16 on CUDA, float32 elsewhere."""
    offload: str = _setting("auto", _choice(OFFLOAD_MODES))
    """Model CPU offload: "auto" (CUDA GPUs under 12 GB), "on" or "off"."""
    prompt_cache_size: int = _setting(64, _integer(0, 10_000))
    """Prompt encodings kept in memory (0 disables the cache)."""
    compile: bool = _setting(False, _boolean)
    """``torch.compile`` the UNet, compiled during the warm-up at start."""
    also: tuple[ModelEntry, ...] = _setting((), _model_entries)
    """More models loaded beside ``id`` (which stays the default), each with its own keys."""
    test_hold_file: Path | None = _setting(None, _optional_path)  # noqa: RUF009 - Path is immutable
    """Test-only (tiny model): generations wait after each step while this file names them."""
    test_step_delay_ms: int = _setting(0, _integer(0, 10_000))
    """Test-only (tiny model): milliseconds every denoising step waits."""
    test_fail_file: Path | None = _setting(None, _optional_path)  # noqa: RUF009 - Path is immutable
    """Test-only (tiny model): generations whose prompt this file names fail after one step."""

    def __post_init__(self) -> None:
        super().__post_init__()
        names = {model_display_name(self.id).casefold(): "[model] id"}
        for position, entry in enumerate(self.also, start=1):
            name = model_display_name(entry.id)
            earlier = names.setdefault(name.casefold(), f"[model] also entry {position}")
            if earlier != f"[model] also entry {position}":
                raise ConfigError(
                    f"[model] also entry {position} loads a model {earlier} loads already (each is loaded "
                    f"once, and chosen by its name); got {_show(entry.id)}, named {_show(name)} again"
                )
        testing = (
            self.test_hold_file is not None or self.test_step_delay_ms > 0 or self.test_fail_file is not None
        )
        real = [model_id for model_id in self.ids if model_id not in TINY_MODEL_IDS]
        if testing and real:
            raise ConfigError(
                "[model] test_hold_file, test_step_delay_ms and test_fail_file are for tests and work "
                f"only with built-in tiny models ({', '.join(TINY_MODEL_IDS)}); remove them for the "
                f"model {_show(real[0])}"
            )

    @property
    def ids(self) -> tuple[str, ...]:
        """Every model to load, the default (``id``) first."""
        return (self.id, *(entry.id for entry in self.also))

    def catalog(self) -> ModelCatalog:
        """The models users may choose, by name, the default first."""
        return ModelCatalog.from_ids(self.ids)

    def engine_settings(self, entry: ModelEntry | None = None) -> EngineSettings:
        """The engine's view of this section: the default model, or ``entry`` of ``also``."""
        own = dict(entry.overrides) if entry is not None else {}
        return EngineSettings(
            model_id=entry.id if entry is not None else self.id,
            device=own.get("device", self.device),
            dtype=own.get("dtype", self.dtype),
            offload=own.get("offload", self.offload),
            prompt_cache_size=self.prompt_cache_size,
            compile=own.get("compile", self.compile),
            test_hold_file=self.test_hold_file,
            test_step_delay_ms=self.test_step_delay_ms,
            test_fail_file=self.test_fail_file,
        )

    def all_engine_settings(self) -> tuple[EngineSettings, ...]:
        """How to load every model, the default first."""
        return (self.engine_settings(), *(self.engine_settings(entry) for entry in self.also))


@dataclass(frozen=True)
class StorageConfig(_Section):
    """``[storage]``: where the database and MP3 files live."""

    SECTION: ClassVar[str] = "storage"

    data_dir: Path = _setting(DEFAULT_DATA_DIR, _directory)  # noqa: RUF009 - Path is immutable
    """Data folder; :func:`load_config` makes a relative one absolute (see the module docstring)."""
    retention_days: int = _setting(0, _integer(0, 36_500))
    """Days to keep generated files; 0 keeps them forever (gallery files are always kept)."""


@dataclass(frozen=True)
class QueueConfig(_Section):
    """``[queue]``: limits on waiting work and how jobs are batched."""

    SECTION: ClassVar[str] = "queue"

    max_pending_per_user: int = _setting(3, _integer(1, 100))
    """Queued or running jobs one user may have at once."""
    max_queue: int = _setting(100, _integer(1, 10_000))
    """Queued jobs in all; beyond that new requests are refused."""
    cooldown_s: float = _setting(0.0, _number(0.0, 3600.0, "seconds"))
    """Minimum time between two requests of one user (0: none)."""
    max_variations: int = _setting(4, _integer(1, 4))
    """Most variations one request may ask for."""
    max_batch: int = _setting(0, _integer(0, 32))
    """Most requests generated in one pipeline call; 0: chosen from GPU memory."""
    batch_window_ms: int = _setting(0, _integer(0, 5000))
    """How long the worker waits for compatible requests to batch with (0: no wait)."""
    job_timeout_s: float = _setting(600.0, _number(10.0, 7200.0, "seconds"))
    """A generation running longer than this is declared stuck."""
    max_job_cost: float = _setting(70.0, _number(1.0, 10_000.0, "clips"))
    """The largest single job, in clips (a 10 s, 50-step clip is 1; a 10-minute loop is about 65)."""
    max_user_cost: float = _setting(100.0, _number(1.0, 100_000.0, "clips"))
    """Clips of GPU work one user may have queued and running at once."""
    remixes_per_hour: int = _setting(30, _integer(0, 10_000))
    """Level changes (remixes) one user may make per hour; each stores and posts a new mix."""
    max_attempts: int = _setting(2, _integer(1, 100))
    """A job running when the bot (or, with Redis, its GPU worker) died this many times is failed,
    not run again."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_pending_per_user > self.max_queue:
            raise ConfigError(
                f"[queue] max_pending_per_user must not exceed [queue] max_queue ({self.max_queue}); "
                f"got {self.max_pending_per_user}"
            )
        if self.max_job_cost > self.max_user_cost:
            raise ConfigError(
                f"[queue] max_job_cost must not exceed [queue] max_user_cost ({self.max_user_cost:g}), "
                f"or the largest job could never be queued; got {self.max_job_cost:g}"
            )

    def limits(self) -> Limits:
        """The limits admission applies."""
        return Limits(
            max_pending_per_user=self.max_pending_per_user,
            max_queue=self.max_queue,
            cooldown_s=self.cooldown_s,
            max_job_cost=self.max_job_cost,
            max_user_cost=self.max_user_cost,
            remixes_per_hour=self.remixes_per_hour,
        )


#: FinishSettings field -> [audio] key, to name the key when FinishSettings refuses a value.
_FINISH_KEYS = {
    "target_lufs": "target_lufs",
    "true_peak_dbfs": "true_peak_dbfs",
    "mp3_bitrate_kbps": "bitrate_kbps",
    "fade_in_s": "fade_in_s",
    "fade_out_s": "fade_out_s",
}


@dataclass(frozen=True)
class AudioConfig(_Section):
    """``[audio]``: how clips are finished; ranges are those of FinishSettings."""

    SECTION: ClassVar[str] = "audio"

    target_lufs: float = _setting(-18.0, _number())
    """Integrated loudness target (LUFS)."""
    true_peak_dbfs: float = _setting(-1.0, _number())
    """True-peak ceiling (dBTP)."""
    bitrate_kbps: int = _setting(128, _integer())
    """Nominal MP3 bitrate."""
    fade_in_s: float = _setting(0.05, _number())
    fade_out_s: float = _setting(0.25, _number())

    def __post_init__(self) -> None:
        super().__post_init__()
        self.finish_settings()

    def finish_settings(self) -> FinishSettings:
        """The finishing settings; a value FinishSettings refuses raises ConfigError naming the key."""
        try:
            return FinishSettings(
                target_lufs=self.target_lufs,
                true_peak_dbfs=self.true_peak_dbfs,
                fade_in_s=self.fade_in_s,
                fade_out_s=self.fade_out_s,
                mp3_bitrate_kbps=self.bitrate_kbps,
            )
        except ValueError as exc:
            message = str(exc)
            for name, key in _FINISH_KEYS.items():
                if message.startswith(name + " "):
                    rest = message[len(name) :].replace(", got ", "; got ")
                    raise ConfigError(f"[{self.SECTION}] {key}{rest}") from None
            raise ConfigError(f"[{self.SECTION}] {message}") from None


@dataclass(frozen=True)
class ExecutorConfig(_Section):
    """``[executor]``: where the model runs: in this process, or on GPU workers through Redis."""

    SECTION: ClassVar[str] = "executor"

    kind: str = _setting("local", _choice(("local", "redis")))
    """"local": the model in the bot's process; "redis": ``ambientgen worker`` processes."""
    redis_url: str = _setting(DEFAULT_REDIS_URL, _redis_url)
    """The Redis the bot and its workers share (no password here: see REDIS_PASSWORD_ENV)."""
    queue_name: str = _setting("ambientgen", _queue_name)
    """The job queue's name in Redis; one bot per name, any number of workers."""
    heartbeat_s: int = _setting(5, _integer(1, 60))
    """Seconds between a worker's signs of life; one silent for 3 of them is presumed dead."""
    result_ttl_s: int = _setting(3600, _integer(60, 604_800))
    """Seconds a finished result (and a job's input) is kept in Redis for the bot to collect."""

    @property
    def remote(self) -> bool:
        return self.kind == "redis"


@dataclass(frozen=True)
class CompareConfig(_Section):
    """``[compare]``: blind A/B comparisons of two models (``/compare``)."""

    SECTION: ClassVar[str] = "compare"

    reveal_after_votes: int = _setting(5, _integer(0, 1000))
    """The models are revealed once this many listeners voted; 0: only when the author reveals."""


@dataclass(frozen=True)
class VoiceConfig(_Section):
    """``[voice]``: live playback in voice channels."""

    SECTION: ClassVar[str] = "voice"

    default_volume: int = _setting(70, _integer(0, 100))
    """Volume a new player starts at (0–100; 100 is the file's own level)."""
    crossfade_s: float = _setting(3.0, _number(0.1, 30.0, "seconds"))
    """How long playing something new crossfades from what played before."""
    empty_timeout_s: float = _setting(60.0, _number(1.0, 3600.0, "seconds"))
    """How long the bot stays in a voice channel nobody else is in."""
    bitrate_kbps: int = _setting(128, _integer(16, 512))
    """Opus bitrate sent to Discord (it may lower it to the channel's bitrate)."""


_SECTIONS: dict[str, type[_Section]] = {
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
        return " | ".join([origin, *(getattr(self, name).summary() for name in _SECTIONS)])


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
    return dataclasses.replace(
        config,
        model=model,
        storage=dataclasses.replace(config.storage, data_dir=_anchored(config.storage.data_dir, base)),
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
        known = [f.name for f in dataclasses.fields(_SECTIONS[section])]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return f" (did you mean {close[0]}?)"
    elsewhere = {
        f"[{name}] {f.name}": f.name
        for name, cls in _SECTIONS.items()
        if name != section
        for f in dataclasses.fields(cls)
    }
    if section is None:
        elsewhere.update({f"[{name}]": name for name in _SECTIONS})
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
    sections: dict[str, _Section] = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            what = "section" if isinstance(table, Mapping) else "key"
            shown = f"[{name}]" if what == "section" else name
            raise ConfigError(
                f"unknown {what} {shown}{_suggestion(name, None)}; sections are "
                + ", ".join(f"[{s}]" for s in _SECTIONS)
            )
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{name}] must be a table (a [{name}] header with key = value lines)")
        cls = _SECTIONS[name]
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
