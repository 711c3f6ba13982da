"""The status message's last moments: progress edits stop before it becomes the result."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.jobs.messenger import Messenger
from bot.storage import Job
from tests.bot.jobs.test_visibility import job


class GatedMessenger(Messenger):
    """A messenger whose progress edits are recorded and held at a gate the test opens."""

    def __init__(self, interval_s: float = 0.0) -> None:
        super().__init__(None, status_interval_s=interval_s, interaction_ttl_s=900.0)  # type: ignore[arg-type]
        self.edits: list[str] = []
        self.editing = asyncio.Event()
        self.gate = asyncio.Event()

    async def _flush_edit(self, job: Job, text: str, *_: Any) -> None:
        self.editing.set()
        await self.gate.wait()
        self.edits.append(text)


async def test_stopping_updates_waits_for_the_edit_under_way_and_refuses_later_ones() -> None:
    messenger, status = GatedMessenger(), job(1, 1, 10)
    messenger.register_status(status, 500, "Queued")
    messenger.update_status(status, "Generating — 10 %")
    await messenger.editing.wait()  # that edit is on its way to Discord
    stopping = asyncio.ensure_future(messenger.stop_updates(status))
    await asyncio.sleep(0)
    assert not stopping.done()  # never cut off mid-request: it could land after the result
    messenger.gate.set()
    await stopping
    assert messenger.edits == ["Generating — 10 %"]
    messenger.update_status(status, "Generating — 100 %")  # too late: the message is the result now
    assert messenger.edits == ["Generating — 10 %"] and not messenger._pending


async def test_stopping_updates_cancels_a_waiting_edit() -> None:
    messenger, status = GatedMessenger(interval_s=60.0), job(2, 1, 10)
    messenger.register_status(status, 501, "Queued")
    messenger.update_status(status, "Generating — 50 %")  # waits for the throttle
    await messenger.stop_updates(status)
    messenger.gate.set()
    assert messenger.edits == [] and not messenger._pending
