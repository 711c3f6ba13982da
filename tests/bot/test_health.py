"""/metrics, /healthz and /readyz on a free port, with a registry of the test's own."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import HealthUnavailable, start_health
from bot.metrics import Metrics, use


@pytest.fixture
def mine() -> Iterator[Metrics]:
    metrics = Metrics()
    previous = use(metrics)
    yield metrics
    use(previous)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_three_endpoints(mine: Metrics, http: aiohttp.ClientSession) -> None:
    problem: list[str | None] = ["not connected to the Discord gateway yet"]
    server = await start_health("127.0.0.1", _free_port(), lambda: problem[0])
    assert server is not None
    base = f"http://127.0.0.1:{server.port}"
    try:
        mine.prepare(["tiny"])
        mine.job_event("accepted", "tiny")
        async with http.get(f"{base}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok\n")
        async with http.get(f"{base}/readyz") as response:
            assert (response.status, await response.text()) == (
                503,
                "not connected to the Discord gateway yet\n",
            )
        problem[0] = None
        async with http.get(f"{base}/readyz") as response:
            assert (response.status, await response.text()) == (200, "ready\n")
        async with http.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            families = {f.name: f for f in text_string_to_metric_families(await response.text())}
        accepted = [s for s in families["ambientgen_jobs"].samples if s.labels["outcome"] == "accepted"]
        assert [(s.labels["model"], s.value) for s in accepted] == [("tiny", 1.0)]
    finally:
        await server.stop()


async def test_a_readiness_check_that_breaks_is_a_503_with_a_reason(
    mine: Metrics, http: aiohttp.ClientSession
) -> None:
    def broken() -> str | None:
        raise KeyError("shards")

    server = await start_health("127.0.0.1", _free_port(), broken)
    assert server is not None
    try:
        async with http.get(f"http://127.0.0.1:{server.port}/readyz") as response:
            assert (response.status, await response.text()) == (
                503,
                "the readiness check failed (KeyError)\n",
            )
    finally:
        await server.stop()


async def test_port_zero_is_off_and_a_taken_port_is_one_clear_line(mine: Metrics) -> None:
    assert await start_health("127.0.0.1", 0, lambda: None) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HealthUnavailable) as error:
            await start_health("127.0.0.1", port, lambda: None)
    message = str(error.value)
    assert message.startswith(f"the metrics port 127.0.0.1:{port} can't be opened (")
    assert "[metrics] port" in message and "\n" not in message


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
