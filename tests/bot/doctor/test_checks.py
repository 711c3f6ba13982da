"""The doctor's single checks: the database, gated weights, Redis and its workers, the token's shape."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import Config, ExecutorConfig, ModelConfig, StorageConfig
from bot.doctor.database import data_folder
from bot.doctor.discord_api import INVITE_PERMISSIONS, PERMISSIONS, token_shape
from bot.doctor.weights import weights
from bot.doctor.workers import redis_and_workers
from bot.remote.broker import PROTOCOL, ResilientQueue, connect
from bot.runner import DATABASE_NAME
from bot.storage.database import Database
from bot.storage.migrations import MIGRATIONS
from tests.bot.doctor.test_checkup import TOKEN
from tests.hub_standin import gated_hub_server
from tests.redis_server import RedisServer, redis_server  # noqa: F401 - a fixture


def storage(folder: Path) -> Config:
    return Config(storage=StorageConfig(data_dir=folder))


async def test_the_database_is_checked_read_only(tmp_path: Path) -> None:
    async with Database.open(tmp_path / DATABASE_NAME):
        pass
    path = tmp_path / DATABASE_NAME
    before = path.read_bytes()
    folder, database = data_folder(storage(tmp_path))
    assert folder.ok and database.ok
    assert database.detail == f"intact; schema version {len(MIGRATIONS)} (current)"
    assert path.read_bytes() == before

    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    _, newer = data_folder(storage(tmp_path))
    assert not newer.ok and f"newer than this code's {len(MIGRATIONS)}" in newer.detail

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 1")
    _, older = data_folder(storage(tmp_path))
    assert older.ok and f"migrated to {len(MIGRATIONS)} at the next start" in older.detail

    path.write_bytes(b"this is not a database" * 100)
    _, broken = data_folder(storage(tmp_path))
    assert not broken.ok and broken.line().startswith(f"✗ database: {path} cannot be read")


def test_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    (result,) = data_folder(storage(tmp_path / "data"))
    assert not result.ok and "is not a folder" in result.detail


def test_gated_weights_without_a_token_say_where_to_accept_the_licence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    config = Config(model=ModelConfig(id="tiny", also=[{"id": "stabilityai/stable-audio-open-1.0"}]))
    with gated_hub_server() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub)
        tiny, gated = weights(config)
    assert tiny.ok and "built in" in tiny.detail
    assert not gated.ok
    assert gated.what == "model stabilityai/stable-audio-open-1.0"
    assert "accept its licence at https://huggingface.co/stabilityai/stable-audio-open-1.0" in gated.fix
    assert "HF_TOKEN" in gated.fix


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (None, "DISCORD_TOKEN is not set"),
        ("   ", "DISCORD_TOKEN is not set"),
        (f"Bot {TOKEN}", 'starts with "Bot "'),
        ("abc.def", "is not shaped like a bot token"),
        ("bm90LWFuLWlkLWF0LWFsbA.GhT9xQ.s3cretS1gnatureAbCdEfGhIjKl", "is not a bot's id"),
    ],
)
def test_a_token_of_the_wrong_shape(token: str | None, words: str) -> None:
    result = token_shape(token)
    assert not result.ok and words in result.detail
    assert "s3cret" not in result.line()


def test_a_token_of_the_right_shape_names_the_bot_id_only() -> None:
    result = token_shape(f"  {TOKEN}\n")
    assert result.ok and "bot id 123456789012345678" in result.detail
    assert TOKEN not in result.line() and TOKEN.split(".")[2] not in result.line()


async def test_redis_mode_needs_a_worker_for_every_model(redis_server: RedisServer) -> None:  # noqa: F811
    executor = ExecutorConfig(kind="redis", redis_url=redis_server.url)
    config = Config(model=ModelConfig(id="tiny", also=[{"id": "tiny-sao"}]), executor=executor)
    up, workers = await redis_and_workers(config)
    assert up.ok and not workers.ok and workers.detail == "no GPU worker online"

    client = connect(redis_server.url)
    try:
        metadata = {
            "protocol": PROTOCOL, "name": "gpu0", "models": ["tiny"], "sample_rate": 16000,
            "device": "cuda:0 (float16)", "slots": 1, "max_batch": {"10.0": 4},
        }  # fmt: skip
        presence = ResilientQueue(client, "ambientgen")
        await presence.write_worker_info(
            "gpu0", {"stats": {}, "queue_key": "ambientgen", "metadata": metadata}, 30
        )  # type: ignore[typeddict-item]
        _, partial = await redis_and_workers(config)
        assert (
            not partial.ok and "none serves tiny-sao" in partial.detail and "gpu0 (cuda:0" in partial.detail
        )
        _, as_worker = await redis_and_workers(config, worker=True)
        assert as_worker.ok
    finally:
        await client.aclose()


async def test_an_unreachable_redis_is_one_line() -> None:
    config = Config(executor=ExecutorConfig(kind="redis", redis_url="redis://127.0.0.1:1/0"))
    (result,) = await redis_and_workers(config)
    assert result.line().startswith("✗ Redis: redis://127.0.0.1:1/0 is unreachable")
    assert "fix: start redis-server" in result.line()


def test_the_invites_in_the_docs_ask_for_the_permissions_the_doctor_checks() -> None:
    root = Path(__file__).resolve().parents[3]
    for doc in ("README.md", "docs/running/setup.md"):
        text = " ".join((root / doc).read_text(encoding="utf-8").split())
        assert f"permissions={INVITE_PERMISSIONS}" in text, doc
        assert f"permission integer `{INVITE_PERMISSIONS}`" in text, doc
        for name in PERMISSIONS:
            assert name in text, (doc, name)


async def test_a_worker_needs_the_redis_executor() -> None:
    (local,) = await redis_and_workers(Config(), worker=True)
    assert not local.ok and 'kind = "redis"' in local.fix
    (bot,) = await redis_and_workers(Config())
    assert bot.ok and "not used" in bot.detail
