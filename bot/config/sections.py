"""The sections besides ``[model]``: Discord, storage, queue limits, audio, executor, compare, voice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import model_validator

from bot.config.checks import (
    Section,
    boolean,
    directory,
    fail,
    integer,
    invalid,
    number,
    one_of,
    optional_path,
    setting,
)
from bot.config.connections import (
    DEFAULT_API_BASE_URL,
    DEFAULT_REDIS_URL,
    MAX_INTERACTION_TTL_S,
    api_base_url,
    guild_ids,
    interaction_ttl,
    queue_name,
    redact,
    redis_url,
    shard_ids,
)
from bot.config.messages import show
from bot.jobs.admission import Limits
from generation.audio.finishing import FinishSettings

DEFAULT_DATA_DIR = Path("./data")


class DiscordConfig(Section):
    """``[discord]``: where the API is and how the bot talks to it."""

    SECTION: ClassVar[str] = "discord"

    api_base_url: str = setting(DEFAULT_API_BASE_URL, api_base_url)
    """REST API root (a trailing slash is dropped); point it at a Discord-compatible server to test."""
    command_guilds: tuple[int, ...] = setting((), guild_ids)
    """Guilds to sync slash commands to at start (instant); empty: one global sync."""
    sync_commands: bool = setting(True, boolean)
    """Sync slash commands with Discord at start."""
    status_interval_s: float = setting(1.5, number(0.5, 60.0, "seconds"))
    """Minimum time between two edits of one status message."""
    interaction_ttl_s: float = setting(MAX_INTERACTION_TTL_S, interaction_ttl)
    """How long an interaction token is used; after that results go to the channel. The bot stops
    :data:`TOKEN_MARGIN_S` before it, so a shorter TTL would leave no time to use the token."""
    post_timeout_s: float = setting(60.0, number(1.0, 600.0, "seconds"))
    """How long one result upload may take before its outcome is treated as unknown (then the
    channel is searched for it before anything is posted again)."""
    shard_count: int = setting(0, integer(0, 100_000))
    """Gateway shards in all; 0: as many as ``GET /gateway/bot`` recommends."""
    shard_ids: tuple[int, ...] = setting((), shard_ids)
    """The shards this process runs (needs ``shard_count``); empty: all of them."""

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordConfig:
        if self.shard_ids and not self.shard_count:
            raise invalid(
                "[discord] shard_ids needs [discord] shard_count (the total over every bot process); "
                f"got shard_ids = {show(list(self.shard_ids))} with shard_count = 0",
                whole=True,
            )
        too_big = [i for i in self.shard_ids if i >= self.shard_count]
        if self.shard_count and too_big:
            raise invalid(
                f"[discord] shard_ids entries must be below shard_count ({self.shard_count}); "
                f"got {show(too_big)}",
                whole=True,
            )
        return self


class StorageConfig(Section):
    """``[storage]``: where the database and MP3 files live."""

    SECTION: ClassVar[str] = "storage"

    data_dir: Path = setting(DEFAULT_DATA_DIR, directory)
    """Data folder; :func:`load_config` makes a relative one absolute (see the module docstring)."""
    retention_days: int = setting(0, integer(0, 36_500))
    """Days to keep generated files; 0 keeps them forever (gallery files are always kept)."""


class QueueConfig(Section):
    """``[queue]``: limits on waiting work and how jobs are batched."""

    SECTION: ClassVar[str] = "queue"

    max_pending_per_user: int = setting(3, integer(1, 100))
    """Queued or running jobs one user may have at once."""
    max_queue: int = setting(100, integer(1, 10_000))
    """Queued jobs in all; beyond that new requests are refused."""
    cooldown_s: float = setting(0.0, number(0.0, 3600.0, "seconds"))
    """Minimum time between two requests of one user (0: none)."""
    max_variations: int = setting(4, integer(1, 4))
    """Most variations one request may ask for."""
    max_batch: int = setting(0, integer(0, 32))
    """Most requests generated in one pipeline call; 0: chosen from GPU memory."""
    batch_window_ms: int = setting(0, integer(0, 5000))
    """How long the worker waits for compatible requests to batch with (0: no wait)."""
    job_timeout_s: float = setting(600.0, number(10.0, 7200.0, "seconds"))
    """A generation running longer than this is declared stuck."""
    max_job_cost: float = setting(70.0, number(1.0, 10_000.0, "clips"))
    """The largest single job, in clips (a 10 s, 50-step clip is 1; a 10-minute loop is about 65)."""
    max_user_cost: float = setting(100.0, number(1.0, 100_000.0, "clips"))
    """Clips of GPU work one user may have queued and running at once."""
    remixes_per_hour: int = setting(30, integer(0, 10_000))
    """Level changes (remixes) one user may make per hour; each stores and posts a new mix."""
    max_attempts: int = setting(2, integer(1, 100))
    """A job running when the bot (or, with Redis, its GPU worker) died this many times is failed,
    not run again."""

    @model_validator(mode="after")
    def _limits_fit(self) -> QueueConfig:
        if self.max_pending_per_user > self.max_queue:
            raise invalid(
                f"[queue] max_pending_per_user must not exceed [queue] max_queue ({self.max_queue}); "
                f"got {self.max_pending_per_user}",
                whole=True,
            )
        if self.max_job_cost > self.max_user_cost:
            raise invalid(
                f"[queue] max_job_cost must not exceed [queue] max_user_cost ({self.max_user_cost:g}), "
                f"or the largest job could never be queued; got {self.max_job_cost:g}",
                whole=True,
            )
        return self

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


class AudioConfig(Section):
    """``[audio]``: how clips are finished; ranges are those of FinishSettings."""

    SECTION: ClassVar[str] = "audio"

    target_lufs: float = setting(-18.0, number())
    """Integrated loudness target (LUFS)."""
    true_peak_dbfs: float = setting(-1.0, number())
    """True-peak ceiling (dBTP)."""
    bitrate_kbps: int = setting(128, integer())
    """Nominal MP3 bitrate."""
    fade_in_s: float = setting(0.05, number())
    """Fade-in at the start of each clip (seconds)."""
    fade_out_s: float = setting(0.25, number())
    """Fade-out at the end of each clip (seconds)."""

    @model_validator(mode="after")
    def _finishable(self) -> AudioConfig:
        self.finish_settings()
        return self

    def finish_settings(self) -> FinishSettings:
        """The finishing settings; a value FinishSettings refuses is refused naming the key."""
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
                    raise invalid(f"[{self.SECTION}] {key}{rest}", whole=True) from None
            raise invalid(f"[{self.SECTION}] {message}", whole=True) from None


class ExecutorConfig(Section):
    """``[executor]``: where the model runs: in this process, or on GPU workers through Redis."""

    SECTION: ClassVar[str] = "executor"

    kind: str = setting("local", one_of(("local", "redis")))
    """"local": the model in the bot's process; "redis": ``ambientgen worker`` processes."""
    redis_url: str = setting(DEFAULT_REDIS_URL, redis_url)
    """The Redis the bot and its workers share (no password here: see REDIS_PASSWORD_ENV)."""
    queue_name: str = setting("ambientgen", queue_name)
    """The job queue's name in Redis; one bot per name, any number of workers."""
    heartbeat_s: int = setting(5, integer(1, 60))
    """Seconds between a worker's signs of life; one silent for 3 of them is presumed dead."""
    result_ttl_s: int = setting(3600, integer(60, 604_800))
    """Seconds a finished result (and a job's input) is kept in Redis for the bot to collect."""

    @property
    def remote(self) -> bool:
        return self.kind == "redis"

    def summary(self) -> str:
        return redact(super().summary())  # never a password in the log, whatever the URL holds


class CompareConfig(Section):
    """``[compare]``: blind A/B comparisons of two models (``/compare``)."""

    SECTION: ClassVar[str] = "compare"

    reveal_after_votes: int = setting(5, integer(0, 1000))
    """The models are revealed once this many listeners voted; 0: only when the author reveals."""


class PresetsConfig(Section):
    """``[presets]``: extra presets beside the catalogue (the studio's **Save as preset** writes them)."""

    SECTION: ClassVar[str] = "presets"

    file: Path | None = setting(None, optional_path)
    """A JSON presets file loaded at start and offered in ``/ambient preset:``; None: no extra presets."""


class VoiceConfig(Section):
    """``[voice]``: live playback in voice channels."""

    SECTION: ClassVar[str] = "voice"

    default_volume: int = setting(70, integer(0, 100))
    """Volume a new player starts at (0–100; 100 is the file's own level)."""
    crossfade_s: float = setting(3.0, number(0.1, 30.0, "seconds"))
    """How long playing something new crossfades from what played before."""
    empty_timeout_s: float = setting(60.0, number(1.0, 3600.0, "seconds"))
    """How long the bot stays in a voice channel nobody else is in."""
    bitrate_kbps: int = setting(128, integer(16, 512))
    """Opus bitrate sent to Discord (it may lower it to the channel's bitrate)."""
    max_players: int = setting(50, integer(1, 10_000))
    """How many servers may play in voice at once (each costs a few MiB and some CPU)."""
    evolve_every_s: float = setting(60.0, number(5.0, 3600.0, "seconds"))
    """How long each take of an endless scene plays before the next crossfades in."""
    background_share: float = setting(0.5, number(0.0, 1.0, "share"))
    """At most this share of the GPU's time goes to endless scenes' background renders."""


def listen_host(value: Any) -> str:
    """An address or host name to listen on ("0.0.0.0": every interface)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or any(c.isspace() or c in "/@?#" for c in text):
        raise fail('an address to listen on, such as "127.0.0.1" or "0.0.0.0"', value)
    return text


class MetricsConfig(Section):
    """``[metrics]``: Prometheus metrics and health over HTTP (``/metrics``, ``/healthz``, ``/readyz``)."""

    SECTION: ClassVar[str] = "metrics"

    port: int = setting(0, integer(0, 65_535))
    """TCP port of the metrics and health endpoints; 0: off."""
    host: str = setting("127.0.0.1", listen_host)
    """Address they listen on; the default serves this machine only."""


class LoggingConfig(Section):
    """``[logging]``: how log lines are written."""

    SECTION: ClassVar[str] = "logging"

    format: str = setting("text", one_of(("text", "json")))
    """"text": ``key=value`` lines; "json": one JSON object per line, for log collectors."""
