"""The sleep button steps through 30 min, 1 h, 2 h, then off; a result's *Play in voice* checks
the message it is on and the clicker's view of its channel."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.errors import UserError
from bot.ui.components import NOT_THIS_RESULT
from bot.voice.controls import next_sleep, posted_job
from tests.bot.storage.conftest import new_job
from tests.bot.storage.factories import GUILD_A, GUILD_B, Stores


def test_sleep_button_steps() -> None:
    assert next_sleep(None) == 1800.0
    assert next_sleep(1700.0) == 3600.0  # just set to 30 min: next is 1 h
    assert next_sleep(3590.0) == 7200.0
    assert next_sleep(7100.0) is None
    assert next_sleep(600.0) == 1800.0  # 10 min left: back up to 30 min


async def test_play_in_voice_on_a_result_needs_its_own_message_and_a_view_of_its_channel(
    stores: Stores,
) -> None:
    """A crafted ``ambientgen:voice:play:job:<id>`` is refused unless it is on that job's result
    message, in its server, and the clicker may view the channel (checked before any voice work)."""
    made = await stores.one(message_id=777)
    other = await stores.one(message_id=778)

    def click(message_id: int, guild_id: int | None = GUILD_A, *, view: bool = True) -> Any:
        return SimpleNamespace(
            client=SimpleNamespace(jobs=stores.jobs),
            message=SimpleNamespace(id=message_id),
            guild_id=guild_id,
            permissions=discord.Permissions(view_channel=view, send_messages=True),
        )

    await posted_job(click(777), made.job_id)  # the real button: accepted
    for refused in (click(778), click(777, GUILD_B)):
        with pytest.raises(UserError, match=NOT_THIS_RESULT):
            await posted_job(refused, made.job_id)
    with pytest.raises(UserError, match="can't see the channel"):
        await posted_job(click(777, view=False), made.job_id)
    await posted_job(click(778), other.job_id)


async def test_a_result_shown_but_not_yet_recorded_is_its_jobs_by_its_marker(stores: Stores) -> None:
    """A click in the moment between Discord showing the result and the bot recording it is
    accepted: Discord hands over the message (its author and embed can't be forged), and the bot's
    own message in the job's channel with the job's marker is its result. Nothing else is."""
    job = await new_job(stores.jobs, guild_id=GUILD_A, channel_id=20)
    assert job.result_message_id is None
    me = SimpleNamespace(id=999)

    def click(
        *, author: int = 999, channel: int = 20, footer: str = f"Job #{job.id} · 🔁 for a new take"
    ) -> Any:
        embed = SimpleNamespace(footer=SimpleNamespace(text=footer))
        return SimpleNamespace(
            client=SimpleNamespace(jobs=stores.jobs, user=me),
            message=SimpleNamespace(
                id=4242,
                author=SimpleNamespace(id=author),
                channel=SimpleNamespace(id=channel),
                embeds=[embed],
            ),
            guild_id=GUILD_A,
            permissions=discord.Permissions(view_channel=True, send_messages=True),
        )

    await posted_job(click(), job.id)
    for refused in (
        click(author=1),  # someone else's message quoting the marker
        click(channel=21),  # the bot's, in another channel
        click(footer=f"Job #{job.id}0 · 🔁 for a new take"),  # another job's marker
        click(footer="Queued — position 1 of 1"),  # the status line before it became the result
    ):
        with pytest.raises(UserError, match=NOT_THIS_RESULT):
            await posted_job(refused, job.id)
    await stores.jobs.mark_running(job.id)
    await stores.jobs.mark_posting(job.id, 1.0)
    await stores.jobs.mark_done(job.id, 5555)
    with pytest.raises(UserError, match=NOT_THIS_RESULT):  # recorded: only that message now
        await posted_job(click(), job.id)
