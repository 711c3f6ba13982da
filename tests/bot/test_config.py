"""The TOML configuration: defaults, the example file, and friendly errors naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import (
    AudioConfig,
    CompareConfig,
    Config,
    ConfigError,
    DiscordConfig,
    ExecutorConfig,
    LoggingConfig,
    MetricsConfig,
    ModelConfig,
    ModelEntry,
    PresetsConfig,
    QueueConfig,
    StorageConfig,
    VoiceConfig,
    load_config,
)
from generation.audio.finishing import FinishSettings
from generation.settings import DEFAULT_MODEL_ID, EngineSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"

SECTIONS: dict[str, type] = {
    "discord": DiscordConfig,
    "model": ModelConfig,
    "storage": StorageConfig,
    "queue": QueueConfig,
    "audio": AudioConfig,
    "voice": VoiceConfig,
    "executor": ExecutorConfig,
    "compare": CompareConfig,
    "metrics": MetricsConfig,
    "logging": LoggingConfig,
    "presets": PresetsConfig,
}


def write(tmp_path: Path, text: str, name: str = "bot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Config:
    return load_config(write(tmp_path, text))


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    return str(info.value)


def toml_value(value: Any) -> str:
    """A Python value written as TOML (enough for these tests)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


# --- defaults and the example file --------------------------------------------------------------


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    assert config.source is None
    assert config.discord == DiscordConfig()
    assert config.discord.api_base_url == "https://discord.com/api/v10"
    assert config.discord.command_guilds == ()
    assert config.discord.sync_commands is True
    assert config.discord.status_interval_s == 1.5
    assert config.discord.interaction_ttl_s == 900.0
    assert config.model == ModelConfig()
    assert (config.model.id, config.model.device, config.model.dtype) == (DEFAULT_MODEL_ID, None, None)
    assert (config.model.offload, config.model.prompt_cache_size) == ("auto", 64)
    assert config.storage.data_dir == tmp_path.resolve() / "data"
    assert config.storage.retention_days == 0
    assert config.queue == QueueConfig(
        max_pending_per_user=3,
        max_queue=100,
        cooldown_s=0.0,
        max_variations=4,
        max_batch=0,
        batch_window_ms=0,
        job_timeout_s=600.0,
        max_job_cost=70.0,
        max_user_cost=100.0,
        remixes_per_hour=30,
        max_attempts=2,
    )
    assert config.audio == AudioConfig(
        target_lufs=-18.0, true_peak_dbfs=-1.0, bitrate_kbps=128, fade_in_s=0.05, fade_out_s=0.25
    )
    assert config.voice == VoiceConfig(
        default_volume=70, crossfade_s=3.0, empty_timeout_s=60.0, bitrate_kbps=128
    )
    assert (config.discord.shard_count, config.discord.shard_ids) == (0, ())
    assert config.executor == ExecutorConfig(
        kind="local",
        redis_url="redis://127.0.0.1:6379/0",
        queue_name="ambientgen",
        heartbeat_s=5,
        result_ttl_s=3600,
    )
    assert not config.executor.remote
    assert config.model.also == () and config.model.ids == (DEFAULT_MODEL_ID,)
    assert config.compare == CompareConfig(reveal_after_votes=5)


def test_empty_file_is_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "# nothing set\n")
    config = load_config(path)
    assert config.source == path.resolve()
    assert config.model_copy(update={"source": None}) == load_config(None)


def test_empty_sections_are_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_text(tmp_path, "\n".join(f"[{name}]" for name in SECTIONS))
    assert config.model_copy(update={"source": None}) == load_config(None)


def test_example_file_equals_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE.parent)
    config = load_config(EXAMPLE)
    assert config.source == EXAMPLE
    assert config.model_copy(update={"source": None}) == load_config(None)


def test_example_file_sets_every_key() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(SECTIONS) == set(Config.model_fields) - {"source"}
    for name, cls in SECTIONS.items():
        assert set(data[name]) == set(cls.model_fields), name


def test_example_file_documents_the_basics() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for needle in ("--config", "AMBIENTGEN_CONFIG", "DISCORD_TOKEN", '# api_base_url = "http'):
        assert needle in text


def test_summary_is_one_line_with_the_settings(tmp_path: Path) -> None:
    path = write(tmp_path, '[model]\nid = "tiny"\n[queue]\nmax_batch = 8\n')
    summary = load_config(path).summary()
    assert "\n" not in summary
    assert str(path.resolve()) in summary
    for needle in ("id=tiny", "max_batch=8", "api_base_url=https://discord.com/api/v10", "device=auto"):
        assert needle in summary
    assert "built-in defaults" in load_config(None).summary()


# --- values that load -------------------------------------------------------------------------


def test_values_are_normalised(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
        [discord]
        api_base_url = "  http://127.0.0.1:8080/api/v10/  "
        command_guilds = [123456789012345678, " 234567890123456789 ", 123456789012345678]
        sync_commands = false
        status_interval_s = 2
        [model]
        id = " tiny "
        device = "CUDA:1"
        dtype = "BFloat16"
        offload = " off "
        prompt_cache_size = 0
        [queue]
        cooldown_s = 30
        job_timeout_s = 10
        [audio]
        target_lufs = -23
        """,
    )
    assert config.discord.api_base_url == "http://127.0.0.1:8080/api/v10"
    assert config.discord.command_guilds == (123456789012345678, 234567890123456789)
    assert config.discord.sync_commands is False
    assert config.discord.status_interval_s == 2.0
    assert isinstance(config.discord.status_interval_s, float)
    assert config.model == ModelConfig(
        id="tiny", device="cuda:1", dtype="bfloat16", offload="off", prompt_cache_size=0
    )
    assert config.queue.cooldown_s == 30.0 and isinstance(config.queue.cooldown_s, float)
    assert config.audio.target_lufs == -23.0 and isinstance(config.audio.target_lufs, float)


def test_guild_ids_as_strings(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[discord]\ncommand_guilds = ["1", "18446744073709551615"]\n')
    assert config.discord.command_guilds == (1, 2**64 - 1)


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_devices(tmp_path: Path, value: str) -> None:
    device = load_text(tmp_path, f'[model]\ndevice = "{value}"\n').model.device
    assert device == (None if value == "auto" else value)


def test_relative_data_dir_is_resolved_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(folder, '[storage]\ndata_dir = "../var/ambient"\n')
    assert load_config(path).storage.data_dir == (tmp_path / "var" / "ambient").resolve()
    path = write(folder, "[storage]\n")
    assert load_config(path).storage.data_dir == folder.resolve() / "data"


def test_relative_config_path_and_absolute_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "abs"
    write(tmp_path, f"[storage]\ndata_dir = {toml_value(str(target))}\n")
    config = load_config("bot.toml")
    assert config.storage.data_dir == target
    assert config.source == (tmp_path / "bot.toml").resolve()


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_text(tmp_path, '[storage]\ndata_dir = "~/ambient"\n')
    assert config.storage.data_dir == tmp_path / "home" / "ambient"


def test_model_folder_written_as_a_path_is_resolved_against_the_file(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[model]\nid = "./models/audioldm2"\n')
    assert config.model.id == str(tmp_path.resolve() / "models" / "audioldm2")
    assert load_text(tmp_path, '[model]\nid = "cvssp/audioldm2-large"\n').model.id == "cvssp/audioldm2-large"


# --- conversions --------------------------------------------------------------------------------


def test_engine_settings() -> None:
    model = ModelConfig(id="tiny", device="cpu", dtype="float32", offload="off", prompt_cache_size=5)
    assert model.engine_settings() == EngineSettings(
        model_id="tiny", device="cpu", dtype="float32", offload="off", prompt_cache_size=5
    )
    assert ModelConfig().engine_settings() == EngineSettings()


def test_finish_settings() -> None:
    audio = AudioConfig(target_lufs=-16, true_peak_dbfs=-2.0, bitrate_kbps=96, fade_in_s=0, fade_out_s=1.5)
    assert audio.finish_settings() == FinishSettings(
        target_lufs=-16.0, true_peak_dbfs=-2.0, mp3_bitrate_kbps=96, fade_in_s=0.0, fade_out_s=1.5
    )
    assert AudioConfig().finish_settings() == FinishSettings()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("target_lufs", -41, "-40"),
        ("target_lufs", 0, "-5"),
        ("true_peak_dbfs", 0.5, "between -20 and 0"),
        ("bitrate_kbps", 100, "one of 32, 40"),
        ("fade_in_s", 11, "between 0 and 10"),
        ("fade_out_s", -0.1, "between 0 and 10"),
    ],
)
def test_finish_settings_ranges_name_the_audio_key(
    tmp_path: Path, key: str, value: float, expected: str
) -> None:
    message = error_for(tmp_path, f"[audio]\n{key} = {toml_value(value)}\n")
    assert message.startswith(f"[audio] {key} must be")
    assert expected in message
    with pytest.raises(ConfigError, match=rf"^\[audio\] {key} "):
        AudioConfig(**{key: value})


# --- errors -------------------------------------------------------------------------------------

#: (section, key, a wrong value, a word the message must contain) for every key.
BAD_VALUES: list[tuple[str, str, Any, str]] = [
    ("discord", "api_base_url", "discord.com/api", "http"),
    ("discord", "api_base_url", "ftp://discord.com/api", "http"),
    ("discord", "api_base_url", "https://", "http"),
    ("discord", "api_base_url", "https://x.test/api?v=10", "query"),
    ("discord", "api_base_url", 10, "URL"),
    ("discord", "command_guilds", 123, "list"),
    ("discord", "command_guilds", "123", "list"),
    ("discord", "command_guilds", ["abc"], "guild id"),
    ("discord", "command_guilds", [0], "guild id"),
    ("discord", "command_guilds", [-5], "guild id"),
    ("discord", "command_guilds", ["18446744073709551616"], "guild id"),
    ("discord", "command_guilds", [True], "guild id"),
    ("discord", "command_guilds", [1.5], "guild id"),
    ("discord", "sync_commands", "yes", "true or false"),
    ("discord", "sync_commands", 1, "true or false"),
    ("model", "compile", "yes", "true or false"),
    ("discord", "status_interval_s", 0.4, "between 0.5 and 60"),
    ("discord", "status_interval_s", 61, "between 0.5 and 60"),
    ("discord", "status_interval_s", "fast", "number"),
    ("discord", "api_base_url", "http://discord.com/api/v10", "https://"),
    ("discord", "api_base_url", "http://10.0.0.5:8080/api/v10", "loopback"),
    ("discord", "interaction_ttl_s", 60, "at least 120"),
    ("discord", "interaction_ttl_s", 119.5, "at least 120"),
    ("discord", "interaction_ttl_s", 901, "at most 900"),
    ("discord", "interaction_ttl_s", "15m", "number"),
    ("model", "id", "", "tiny"),
    ("model", "id", "   ", "tiny"),
    ("model", "id", 3, "tiny"),
    ("model", "device", "gpu", "cuda"),
    ("model", "device", "cuda:x", "cuda"),
    ("model", "device", 0, "cuda"),
    ("model", "dtype", "float64", "bfloat16"),
    ("model", "dtype", 16, "float16"),
    ("model", "offload", "maybe", '"on"'),
    ("model", "offload", True, '"off"'),
    ("model", "prompt_cache_size", -1, "between 0 and 10000"),
    ("model", "prompt_cache_size", 10001, "between 0 and 10000"),
    ("model", "prompt_cache_size", 64.0, "integer"),
    ("model", "test_hold_file", 5, "file path"),
    ("model", "test_step_delay_ms", -1, "between 0 and 10000"),
    ("model", "test_step_delay_ms", 0.5, "integer"),
    ("model", "test_fail_file", 5, "file path"),
    ("storage", "data_dir", "", "folder"),
    ("storage", "data_dir", 5, "folder"),
    ("storage", "retention_days", -1, "between 0 and 36500"),
    ("storage", "retention_days", "30", "integer"),
    ("queue", "max_pending_per_user", 0, "between 1 and 100"),
    ("queue", "max_pending_per_user", 101, "between 1 and 100"),
    ("queue", "max_pending_per_user", True, "integer"),
    ("queue", "max_queue", 0, "between 1 and 10000"),
    ("queue", "max_queue", 10001, "between 1 and 10000"),
    ("queue", "cooldown_s", -1, "between 0 and 3600"),
    ("queue", "cooldown_s", 3601, "between 0 and 3600"),
    ("queue", "max_variations", 0, "between 1 and 4"),
    ("queue", "max_variations", 5, "between 1 and 4"),
    ("queue", "max_batch", -1, "between 0 and 32"),
    ("queue", "max_batch", 33, "between 0 and 32"),
    ("queue", "batch_window_ms", -1, "between 0 and 5000"),
    ("queue", "batch_window_ms", 5001, "between 0 and 5000"),
    ("queue", "batch_window_ms", 1.5, "integer"),
    ("queue", "job_timeout_s", 9.9, "between 10 and 7200"),
    ("queue", "job_timeout_s", 7201, "between 10 and 7200"),
    ("queue", "max_job_cost", 0.5, "between 1 and 10000"),
    ("queue", "max_user_cost", 0, "between 1 and 100000"),
    ("queue", "remixes_per_hour", -1, "between 0 and 10000"),
    ("queue", "max_attempts", 0, "between 1 and 100"),
    ("discord", "post_timeout_s", 0.5, "between 1 and 600"),
    ("audio", "target_lufs", "loud", "number"),
    ("audio", "true_peak_dbfs", True, "number"),
    ("audio", "bitrate_kbps", 128.0, "integer"),
    ("audio", "fade_in_s", [0.1], "number"),
    ("audio", "fade_out_s", "0.25", "number"),
    ("voice", "default_volume", 101, "between 0 and 100"),
    ("voice", "default_volume", 50.5, "integer"),
    ("voice", "crossfade_s", 0, "between 0.1 and 30"),
    ("voice", "crossfade_s", "3s", "number"),
    ("voice", "empty_timeout_s", 0.5, "between 1 and 3600"),
    ("voice", "empty_timeout_s", 3601, "between 1 and 3600"),
    ("voice", "bitrate_kbps", 8, "between 16 and 512"),
    ("voice", "bitrate_kbps", True, "integer"),
    ("voice", "max_players", 0, "between 1 and 10000"),
    ("voice", "evolve_every_s", 4, "between 5 and 3600"),
    ("voice", "background_share", 1.5, "between 0 and 1"),
    ("discord", "shard_count", -1, "between 0 and 100000"),
    ("discord", "shard_count", 2.0, "integer"),
    ("discord", "shard_ids", 1, "list"),
    ("discord", "shard_ids", [-1], "shard number"),
    ("discord", "shard_ids", ["0"], "shard number"),
    ("executor", "kind", "celery", '"redis"'),
    ("executor", "kind", True, '"local"'),
    ("executor", "redis_url", "127.0.0.1:6379", "redis://"),
    ("executor", "redis_url", "http://127.0.0.1:6379", "redis://"),
    ("executor", "redis_url", "redis://", "redis://"),
    ("executor", "redis_url", "redis://host:port", "redis://"),
    ("executor", "redis_url", "unix://", "socket"),
    ("executor", "redis_url", 6379, "URL"),
    ("executor", "queue_name", "", "letters"),
    ("executor", "queue_name", "a b", "letters"),
    ("executor", "queue_name", "x" * 65, "letters"),
    ("executor", "heartbeat_s", 0, "between 1 and 60"),
    ("executor", "heartbeat_s", 61, "between 1 and 60"),
    ("executor", "heartbeat_s", 1.5, "integer"),
    ("executor", "result_ttl_s", 59, "between 60 and 604800"),
    ("executor", "result_ttl_s", "1h", "integer"),
    ("model", "also", "tiny-sao", "list of tables"),
    ("model", "also", {"id": "tiny-sao"}, "list of tables"),
    ("model", "also", ["tiny-sao"], "table with an id"),
    ("model", "also", [{"dtype": "float32"}], "needs an id"),
    ("model", "also", [{"id": ""}], "tiny"),
    ("model", "also", [{"id": "tiny-sao", "idd": 1}], "unknown key idd"),
    ("model", "also", [{"id": "tiny-sao", "dtype": "float64"}], "bfloat16"),
    ("model", "also", [{"id": "tiny-sao", "device": "gpu"}], "cuda"),
    ("model", "also", [{"id": "tiny-sao", "offload": "maybe"}], '"on"'),
    ("model", "also", [{"id": "tiny-sao", "compile": "yes"}], "true or false"),
    ("model", "also", [{"id": "cvssp/audioldm2"}], "again"),
    ("model", "also", [{"id": "tiny-sao"}, {"id": "TINY-SAO"}], "again"),
    ("compare", "reveal_after_votes", -1, "between 0 and 1000"),
    ("compare", "reveal_after_votes", 1001, "between 0 and 1000"),
    ("compare", "reveal_after_votes", 2.5, "integer"),
    ("metrics", "port", -1, "between 0 and 65535"),
    ("metrics", "port", 65536, "between 0 and 65535"),
    ("metrics", "port", "9100", "integer"),
    ("metrics", "host", "", "address to listen on"),
    ("metrics", "host", "http://0.0.0.0", "address to listen on"),
    ("metrics", "host", 127, "address to listen on"),
    ("logging", "format", "xml", '"text", "json"'),
    ("logging", "format", True, '"text", "json"'),
    ("presets", "file", 5, "file path"),
]


def test_several_models_each_with_its_own_keys(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """
        [model]
        id = "tiny"
        device = "cpu"
        dtype = "float32"
        also = [{ id = "tiny-sao", dtype = "bfloat16", compile = true }, { id = "./models/my-audioldm2" }]
        """,
    )
    folder = str(tmp_path.resolve() / "models" / "my-audioldm2")  # anchored like [model] id
    assert config.model.also == (
        ModelEntry("tiny-sao", (("dtype", "bfloat16"), ("compile", True))),
        ModelEntry(folder),
    )
    assert config.model.ids == ("tiny", "tiny-sao", folder)
    default, sao, folder_settings = config.model.all_engine_settings()
    assert (
        default
        == config.model.engine_settings()
        == EngineSettings(model_id="tiny", device="cpu", dtype="float32")
    )
    assert sao == EngineSettings(model_id="tiny-sao", device="cpu", dtype="bfloat16", compile=True)
    assert folder_settings == EngineSettings(model_id=folder, device="cpu", dtype="float32")
    catalog = config.model.catalog()
    assert catalog.names == ("tiny", "tiny-sao", "my-audioldm2")  # a folder by its own name only
    assert catalog.default.name == "tiny" and catalog.get("TINY-SAO").craft.key == "stable-audio-open"
    assert "also=[tiny-sao(dtype=bfloat16,compile=true)," in config.summary()
    # The same as an array of tables.
    tables = load_text(tmp_path, '[model]\nid = "tiny"\n[[model.also]]\nid = "tiny-sao"\n')
    assert tables.model.ids == ("tiny", "tiny-sao")


def test_test_only_keys_need_every_model_built_in(tmp_path: Path) -> None:
    fine = load_text(tmp_path, '[model]\nid = "tiny"\nalso = [{ id = "tiny-sao" }]\ntest_step_delay_ms = 5\n')
    assert all(s.test_step_delay_ms == 5 for s in fine.model.all_engine_settings())
    message = error_for(
        tmp_path, '[model]\nid = "tiny"\nalso = [{ id = "cvssp/audioldm2" }]\ntest_step_delay_ms = 5\n'
    )
    assert "built-in tiny models" in message and '"cvssp/audioldm2"' in message


def test_the_presets_file_is_anchored_like_data_dir(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[presets]\nfile = "presets.json"\n')
    assert config.presets.file == tmp_path.resolve() / "presets.json"
    assert load_config(None).presets.file is None


def test_test_only_keys_work_with_the_tiny_model_alone(tmp_path: Path) -> None:
    config = load_text(tmp_path, '[model]\nid = "tiny"\ntest_hold_file = "hold"\ntest_step_delay_ms = 200\n')
    assert config.model.test_hold_file == tmp_path.resolve() / "hold"  # anchored like data_dir
    settings = config.model.engine_settings()
    assert (settings.test_hold_file, settings.test_step_delay_ms) == (tmp_path.resolve() / "hold", 200)
    for line in ('test_hold_file = "hold"', "test_step_delay_ms = 200"):
        message = error_for(tmp_path, f'[model]\nid = "cvssp/audioldm2"\n{line}\n')
        assert "only with built-in tiny models (tiny, tiny-sao, tiny-sa3)" in message, message


def test_every_key_has_bad_values() -> None:
    covered = {(section, key) for section, key, _, _ in BAD_VALUES}
    assert covered == {(name, key) for name, cls in SECTIONS.items() for key in cls.model_fields}


@pytest.mark.parametrize(("section", "key", "value", "word"), BAD_VALUES)
def test_bad_values_name_the_key(tmp_path: Path, section: str, key: str, value: Any, word: str) -> None:
    message = error_for(tmp_path, f"[{section}]\n{key} = {toml_value(value)}\n")
    assert message.startswith(f"[{section}] {key} ")
    assert word in message
    assert "got" in message or "credentials" in message


def test_message_shows_the_value_as_written(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[queue]\nmax_pending_per_user = "three"\n')
    assert message == '[queue] max_pending_per_user must be an integer between 1 and 100; got "three"'


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("discord", "status_interval_s"),
        ("queue", "cooldown_s"),
        ("audio", "target_lufs"),
        ("audio", "fade_in_s"),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, section: str, key: str, value: str) -> None:
    message = error_for(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert message.startswith(f"[{section}] {key} must be a finite number")
    assert message.endswith(f"got {value}")


def test_pending_per_user_cannot_exceed_the_queue(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[queue]\nmax_queue = 2\nmax_pending_per_user = 3\n")
    assert "max_pending_per_user" in message and "max_queue" in message
    message = error_for(tmp_path, "[queue]\nmax_job_cost = 200\nmax_user_cost = 100\n")
    assert "max_job_cost" in message and "max_user_cost (100)" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/v10",
        "http://127.4.5.6/api",
        "http://localhost:9000/api/v10",
        "http://LOCALHOST/api",
        "http://[::1]:8080/api/v10",
        "https://discord.example/api/v10",
    ],
)
def test_plain_http_only_to_this_machine(tmp_path: Path, url: str) -> None:
    # A stand-in or proxy on this machine may be spoken to without TLS: the token stays local.
    assert load_text(tmp_path, f'[discord]\napi_base_url = "{url}"\n').discord.api_base_url == url


def test_interaction_ttl_names_the_smallest_usable_value(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[discord]\ninteraction_ttl_s = 60\n")
    assert message.startswith("[discord] interaction_ttl_s must be at least 120 seconds")
    assert "60 s before" in message and message.endswith("got 60")
    assert load_text(tmp_path, "[discord]\ninteraction_ttl_s = 120\n").discord.interaction_ttl_s == 120.0


def test_step_delay_must_be_shorter_than_the_stall_timeout(tmp_path: Path) -> None:
    text = '[model]\nid = "tiny"\ntest_step_delay_ms = 10000\n[queue]\njob_timeout_s = 10\n'
    message = error_for(tmp_path, text)
    assert message.startswith("[model] test_step_delay_ms must be shorter than [queue] job_timeout_s")
    assert "largest usable value is 9999" in message and message.endswith("got 10000")
    fine = load_text(tmp_path, text.replace("10000", "9999"))
    assert fine.model.test_step_delay_ms == 9999


def test_redis_mode_and_urls(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        '[executor]\nkind = "Redis"\nredis_url = " rediss://gpu.internal:6380/2 "\nqueue_name = "prod"\n',
    )
    assert config.executor.remote
    assert (config.executor.redis_url, config.executor.queue_name) == ("rediss://gpu.internal:6380/2", "prod")
    socket = load_text(tmp_path, '[executor]\nredis_url = "unix:///run/redis/redis.sock"\n')
    assert socket.executor.redis_url == "unix:///run/redis/redis.sock"
    with_user = load_text(tmp_path, '[executor]\nredis_url = "redis://bot@10.0.0.5:6379/0"\n')
    assert with_user.executor.redis_url == "redis://bot@10.0.0.5:6379/0"
    assert "kind=local" in load_config(None).summary()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret@10.0.0.5:6379/0",
        "redis://bot:s3cret@10.0.0.5:6379/0",
        "rediss://10.0.0.5:6380/0?password=s3cret",
        "redis://10.0.0.5/0?db=1&Password=s3cret",
        "unix:///run/redis.sock?password=s3cret",
    ],
)
def test_a_redis_password_in_the_file_is_refused(tmp_path: Path, url: str) -> None:
    message = error_for(tmp_path, f'[executor]\nredis_url = "{url}"\n')
    assert message == (
        "[executor] redis_url must not contain a password; "
        "set the AMBIENTGEN_REDIS_PASSWORD environment variable instead"
    )


def test_the_config_summary_never_logs_a_redis_password() -> None:
    executor = ExecutorConfig(kind="redis", redis_url="redis://bot@10.0.0.5:6379/0")
    assert "redis_url=redis://bot@10.0.0.5:6379/0" in executor.summary()  # nothing secret: as it is
    # Should a password ever get past the check, the summary still hides it.
    for url in ("redis://bot:s3cret@10.0.0.5/0", "redis://10.0.0.5/0?db=1&password=s3cret&x=1"):
        object.__setattr__(executor, "redis_url", url)
        summary = executor.summary()
        assert "s3cret" not in summary and "***" in summary and "10.0.0.5" in summary


def test_shards_split_over_processes(tmp_path: Path) -> None:
    config = load_text(tmp_path, "[discord]\nshard_count = 4\nshard_ids = [3, 2, 2]\n")
    assert (config.discord.shard_count, config.discord.shard_ids) == (4, (2, 3))
    assert "shard_count" in error_for(tmp_path, "[discord]\nshard_ids = [0]\n")
    message = error_for(tmp_path, "[discord]\nshard_count = 2\nshard_ids = [1, 2]\n")
    assert "below shard_count (2)" in message and "[2]" in message


def test_credentials_in_the_api_url_are_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[discord]\napi_base_url = "https://user:secret@x.test/api"\n')
    assert message.startswith("[discord] api_base_url")
    assert "secret" not in message


def test_guild_id_error_names_the_entry(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[discord]\ncommand_guilds = [1, "two"]\n')
    assert message.startswith("[discord] command_guilds entry 2 ")
    assert '"two"' in message


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    assert error_for(tmp_path, '[model]\nidd = "tiny"\n') == "unknown key [model] idd (did you mean id?)"


def test_unknown_key_suggests_its_section(tmp_path: Path) -> None:
    message = error_for(tmp_path, "[discord]\ncooldown_s = 5\n")
    assert message == "unknown key [discord] cooldown_s (did you mean [queue] cooldown_s?)"


def test_unknown_key_without_suggestion(tmp_path: Path) -> None:
    assert error_for(tmp_path, "[queue]\nzzz = 1\n") == "unknown key [queue] zzz"


def test_unknown_section_with_suggestion(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[modle]\nid = "tiny"\n')
    assert message.startswith("unknown section [modle] (did you mean [model]?)")
    assert "[discord]" in message


def test_top_level_key_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, "max_queue = 5\n")
    assert message.startswith("unknown key max_queue (did you mean [queue] max_queue?)")


def test_section_must_be_a_table(tmp_path: Path) -> None:
    assert error_for(tmp_path, "queue = 5\n").startswith("[queue] must be a table")


def test_nested_table_is_an_unknown_key(tmp_path: Path) -> None:
    assert error_for(tmp_path, "[model.extra]\na = 1\n").startswith("unknown key [model] extra")


@pytest.mark.parametrize(
    "text",
    [
        'token = "abc.def.ghi"\n',
        '[discord]\ntoken = "abc.def.ghi"\n',
        '[discord]\nbot_token = "abc.def.ghi"\n',
        '[queue]\nTOKEN = "abc.def.ghi"\n',
        '[secrets]\ntoken = "abc.def.ghi"\n',
        '[discord.extra]\ntoken = "abc.def.ghi"\n',
        '[[things]]\ntoken = "abc.def.ghi"\n',
    ],
)
def test_token_key_is_refused(tmp_path: Path, text: str) -> None:
    message = error_for(tmp_path, text)
    assert "DISCORD_TOKEN" in message
    assert "abc.def.ghi" not in message


def test_token_is_refused_before_other_errors(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[queue]\nmax_queue = "x"\n[discord]\ntoken = "abc.def.ghi"\n')
    assert "DISCORD_TOKEN" in message and "abc.def.ghi" not in message


def test_invalid_toml_message_has_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[queue]\nmax_queue = 5\nmax_batch = \n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"invalid TOML in {path}: line 3")
    assert "column" in message


def test_invalid_toml_at_end_of_document(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[model]\nid = "tiny\n')
    assert message.startswith("invalid TOML in ") and "line 2" in message
    message = error_for(tmp_path, "[model")
    assert message.startswith("invalid TOML in ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"config file not found: {path}"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        load_config(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[model]\nid = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbf[model]\nid = "tiny"\n')
    assert load_config(path).model.id == "tiny"


# --- the models themselves -----------------------------------------------------------------


def test_sections_are_frozen() -> None:
    config = Config()
    with pytest.raises(ValidationError, match="frozen"):
        config.queue.max_queue = 5  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        config.source = Path("x")  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        config.model.also = ()  # type: ignore[misc]
    assert hash(config.queue) == hash(QueueConfig())  # frozen models are values


def test_constructing_in_code_is_validated_too() -> None:
    with pytest.raises(ConfigError, match=r"^\[queue\] max_variations "):
        QueueConfig(max_variations=9)
    with pytest.raises(ConfigError, match=r"^\[discord\] command_guilds "):
        DiscordConfig(command_guilds=("x",))  # type: ignore[arg-type]
    assert StorageConfig(data_dir="somewhere").data_dir == Path("somewhere")  # type: ignore[arg-type]


def test_metrics_and_logging_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_text(tmp_path, '[metrics]\nport = 9464\nhost = "0.0.0.0"\n[logging]\nformat = "JSON"\n')
    assert (config.metrics.port, config.metrics.host, config.logging.format) == (9464, "0.0.0.0", "json")
    assert (Config().metrics.port, Config().metrics.host, Config().logging.format) == (0, "127.0.0.1", "text")
    for text, message in (
        ("[metrics]\nport = 70000", "[metrics] port must be an integer between 0 and 65535; got 70000"),
        ('[metrics]\nhost = "a b"', '[metrics] host must be an address to listen on, such as "127.0.0.1"'),
        ('[logging]\nformat = "xml"', '[logging] format must be one of "text", "json"; got "xml"'),
    ):
        with pytest.raises(ConfigError) as error:
            load_text(tmp_path, text)
        assert str(error.value).startswith(message), str(error.value)
    # As containers and systemd units set them.
    monkeypatch.setenv("AMBIENTGEN_METRICS__PORT", "9109")
    monkeypatch.setenv("AMBIENTGEN_LOGGING__FORMAT", "json")
    config = load_text(tmp_path, "[metrics]\nport = 9108\n")
    assert (config.metrics.port, config.logging.format) == (9109, "json")
