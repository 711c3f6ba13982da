"""The bot's side of metrics and health: readiness reasons, failed Discord calls, live gauges."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest

from bot.metrics import Metrics
from bot.observed import count_discord_errors, gateway_problem, waiting_by_label, workers_by_model


class FakeClient:
    def __init__(
        self, *, ready: bool = True, closed: bool = False, shards: dict[int, bool] | None = None
    ) -> None:
        self._ready, self._closed = ready, closed
        self.shards = {i: SimpleNamespace(is_closed=lambda c=c: c) for i, c in (shards or {0: False}).items()}
        self.shards_down: set[int] = set()

    def is_ready(self) -> bool:
        return self._ready

    def is_closed(self) -> bool:
        return self._closed


def test_gateway_problems_are_one_line_each() -> None:
    assert gateway_problem(FakeClient()) is None  # type: ignore[arg-type]
    assert gateway_problem(FakeClient(closed=True)) == "the bot is shutting down"  # type: ignore[arg-type]
    assert gateway_problem(FakeClient(ready=False)) == "not connected to the Discord gateway yet"  # type: ignore[arg-type]
    two_down = FakeClient(shards={0: False, 1: True, 2: True})
    assert gateway_problem(two_down) == "the Discord gateway is disconnected (shard 1, 2)"  # type: ignore[arg-type]
    # A socket open again is not enough: the shard is down until its session is READY or RESUMED.
    reconnecting = FakeClient()
    reconnecting.shards_down.add(0)
    assert gateway_problem(reconnecting) == "the Discord gateway is disconnected (shard 0)"  # type: ignore[arg-type]


async def test_failed_discord_calls_are_counted_by_status() -> None:
    metrics = Metrics()
    outcomes: list[Any] = [
        {"id": "1"},
        discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), {"code": 10008, "message": "x"}),
        aiohttp.ClientConnectionError("reset"),
        discord.DiscordServerError(SimpleNamespace(status=503, reason="Unavailable"), "down"),
    ]

    class Http:
        async def request(self, route: object, **kwargs: object) -> object:
            outcome = outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

    http = Http()
    count_discord_errors(http, metrics)  # type: ignore[arg-type]
    assert await http.request("GET /x") == {"id": "1"}
    for error in (discord.NotFound, aiohttp.ClientConnectionError, discord.DiscordServerError):
        with pytest.raises(error):
            await http.request("GET /x")
    get = metrics.registry.get_sample_value
    counted = {s: get("ambientgen_discord_errors_total", {"status": s}) for s in ("404", "network", "503")}
    assert counted == {"404": 1, "network": 1, "503": 1}


def test_waiting_jobs_without_a_model_count_as_the_default_one() -> None:
    metrics = Metrics()
    metrics.prepare(["tiny", "tiny-sao"])
    assert waiting_by_label({None: 2, "tiny": 1, "tiny-sao": 4}, metrics) == {"tiny": 3, "tiny-sao": 4}


def test_workers_are_counted_per_model_they_serve() -> None:
    fleet = SimpleNamespace(
        workers=[SimpleNamespace(models=("tiny", "tiny-sao")), SimpleNamespace(models=("tiny",))]
    )
    assert workers_by_model(SimpleNamespace(fleet=fleet)) == {"tiny": 2, "tiny-sao": 1}
    assert workers_by_model(object()) == {}  # the model in this process: no fleet
