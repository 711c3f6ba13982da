"""A real ``redis-server`` per test (see tests/redis_server.py), and the bot's remote executor and a
fake GPU worker over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.remote.executor import RemoteExecutor
from tests.bot.remote.test_executor import FakeWorker, remote_executor
from tests.redis_server import RedisServer, redis_server  # noqa: F401 - a fixture


@pytest.fixture
async def executor(redis_server: RedisServer) -> AsyncIterator[RemoteExecutor]:  # noqa: F811 - the fixture
    remote = remote_executor(redis_server)
    await remote.start()
    try:
        yield remote
    finally:
        await remote.close()


@pytest.fixture
async def worker(redis_server: RedisServer) -> AsyncIterator[FakeWorker]:  # noqa: F811 - the fixture
    fake = FakeWorker(redis_server)
    try:
        yield fake
    finally:
        await fake.close()
