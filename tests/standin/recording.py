"""What the stand-in saw: recorded requests and gateway frames, fault rules, and change waiting."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

# Waiting helpers take an explicit ``timeout`` (ASYNC109): tests read as ``await h.response(timeout=2)``.


class RecordedFile(NamedTuple):
    """``(field_name, filename, content_type, data)`` of one uploaded part."""

    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One HTTP request the stand-in answered (or refused by fault injection)."""

    at: float
    method: str
    path: str
    #: The matched route template, e.g. ``/channels/{channel_id}/messages`` (``None`` if unmatched).
    route: str | None
    query: dict[str, str]
    #: JSON body; for multipart requests the decoded ``payload_json`` (merged with loose fields).
    json: Any
    files: list[RecordedFile]
    status: int = 0
    #: Whether a valid ``Authorization: Bot <token>`` header was present.
    authorized: bool = False
    response: Any = None
    #: ``"status"`` or ``"disconnect"`` when an injected fault answered this request.
    fault: str | None = None


@dataclass
class GatewayFrame:
    """One gateway event on a connection.

    ``direction`` is ``"send"``/``"recv"`` for payloads, ``"open"`` (``d`` has path and query),
    ``"close"`` (a close the stand-in initiated, ``d`` has code and reason) or ``"disconnect"``.
    """

    at: float
    direction: str
    connection_id: int
    op: int | None
    t: str | None
    s: int | None
    d: Any


@dataclass
class FaultRule:
    method: str
    path_regex: re.Pattern[str]
    remaining: int
    status: int | None = None
    body: Any = None
    disconnect: bool = False
    retry_after: float = 0.05
    hits: list[RecordedRequest] = field(default_factory=list)
    #: The fault comes *after* the request took effect (the message was created, then the answer
    #: is a 5xx, a dropped connection or a late one): what Discord does on a bad day.
    after: bool = False
    #: With ``after``: seconds the answer is held back (the client times out meanwhile).
    hang_s: float = 0.0
    #: With ``after``: called once the effect happened, before any answer (e.g. to kill the bot).
    on_hit: Callable[[RecordedRequest], None] | None = None
    #: Only requests whose JSON body (a multipart's ``payload_json``) this accepts.
    when: Callable[[Any], bool] | None = None

    def matches(self, method: str, path: str, body: Any = None) -> bool:
        return (
            self.remaining > 0
            and (self.method in ("*", method))
            and self.path_regex.search(path) is not None
            and (self.when is None or self.when(body))
        )

    @property
    def label(self) -> str:
        if self.after:
            return "after:" + (
                "disconnect" if self.disconnect else "hang" if self.status is None else "status"
            )
        return "disconnect" if self.disconnect else "status"


class ChangeNotifier:
    """Wakes waiters whenever the stand-in's state changes.

    ``asyncio.Condition`` needs its lock held to notify, yet many mutations happen in
    synchronous code; a set of waiter futures gives the same wake-on-change semantics
    without polling and can be notified from anywhere on the loop's thread.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:  # noqa: ASYNC109
        """Return ``probe()``'s first non-None result, re-probing after every change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = probe()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                self._waiters.discard(waiter)


class Recorder:
    """Append-only log of requests and gateway frames plus the notifier for waiting on them."""

    def __init__(self) -> None:
        self.items: list[RecordedRequest | GatewayFrame] = []
        self.notifier = ChangeNotifier()
        self.faults: list[FaultRule] = []

    @property
    def requests(self) -> list[RecordedRequest]:
        return [item for item in self.items if isinstance(item, RecordedRequest)]

    @property
    def frames(self) -> list[GatewayFrame]:
        return [item for item in self.items if isinstance(item, GatewayFrame)]

    def add(self, item: RecordedRequest | GatewayFrame) -> None:
        self.items.append(item)
        self.notifier.notify()

    def take_fault(self, method: str, path: str, body: Any = None) -> FaultRule | None:
        for rule in self.faults:
            if rule.matches(method, path, body):
                rule.remaining -= 1
                return rule
        return None

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest | GatewayFrame], bool],
        *,
        timeout: float,  # noqa: ASYNC109
        since: int = 0,
    ) -> RecordedRequest | GatewayFrame:
        """First recorded item (from index ``since``) that satisfies ``predicate``."""

        def probe() -> RecordedRequest | GatewayFrame | None:
            for item in self.items[since:]:
                if predicate(item):
                    return item
            return None

        return await self.notifier.wait_until(
            probe, timeout, "a recorded request/frame matching the predicate"
        )
