"""Pieces shared by the persistent controls: custom ids, pick menus, forms, and the guard that
ties a result's controls to the result they are on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord

from bot.errors import UserError
from bot.ui.embeds import JOB_MARKER
from generation.preset_matching import get_preset

if TYPE_CHECKING:
    from bot.app import AmbientBot
    from bot.storage import Job


#: Discord's limit on a component's custom id.
MAX_CUSTOM_ID = 100
#: Longest search text of a listing: it travels in the page buttons' custom ids.
MAX_SEARCH = 40


def custom_id_with_tail(prefix: str, tail: str) -> str:
    """``prefix + tail``, the free-text ``tail`` shortened if the whole would exceed Discord's limit."""
    return prefix + tail[: max(0, MAX_CUSTOM_ID - len(prefix))]


def listing_filters(search: str | None, preset: str | None) -> tuple[str | None, str | None]:
    """(search, preset key) of a listing command; blanks mean "any", an unknown preset is refused."""
    search = search.strip() if search else None
    key = get_preset(preset).key if preset and preset.strip() else None
    return search or None, key


def client_bot(interaction: discord.Interaction) -> AmbientBot:
    """The bot an interaction arrived at (components get no cog, only the interaction)."""
    return interaction.client  # type: ignore[return-value]


NOT_THIS_RESULT = "That control doesn't belong to this message: use the controls under the result itself."


async def job_of_message(interaction: discord.Interaction, job_id: int) -> Job:
    """The job whose result carries the clicked control; refuses any other.

    A custom id can be crafted, so the job it names must be the one posted as this very message,
    in this server (or this DM): a click can never act on another message's or server's job.
    """
    bot = client_bot(interaction)
    job = await bot.jobs.get(job_id)
    message = interaction.message
    if (
        job is None
        or message is None
        or job.guild_id != interaction.guild_id
        or not (job.result_message_id == message.id or _being_recorded(bot, job, message))
    ):
        raise UserError(NOT_THIS_RESULT)
    return job


def _being_recorded(bot: AmbientBot, job: Job, message: discord.Message) -> bool:
    """Whether ``message`` is ``job``'s result that Discord already shows but the bot has not
    recorded yet (a click in the moment between the two).

    The message comes from Discord with the interaction, not from the clicker, so its author and
    embed can't be forged: the bot's own message in the job's channel whose footer carries the
    job's marker is its result (the marker is put on nothing else).
    """
    if job.result_message_id is not None or bot.user is None or message.author.id != bot.user.id:
        return False
    if message.channel.id != job.channel_id or not message.embeds:
        return False
    footer = message.embeds[0].footer.text or ""
    marker = JOB_MARKER.format(job_id=job.id)
    return footer == marker or footer.startswith(marker + " ")


class JobControl:
    """Mixin of the controls under a result (reroll, layers, levels, add to gallery).

    Put it first among the bases. Their custom ids end in the job id (``(?P<job>\\d+)``) and
    their constructor takes it: discord.py rebuilds them from it after a restart, and
    :meth:`result_job` checks it against the message before any use.
    """

    job_id: int

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["job"]))  # type: ignore[call-arg]

    async def result_job(self, interaction: discord.Interaction) -> Job:
        return await job_of_message(interaction, self.job_id)


def pick_select(custom_id: str, options: list[discord.SelectOption]) -> discord.ui.Select[Any]:
    return discord.ui.Select(custom_id=custom_id, placeholder="Pick a soundscape…", options=options)


def selected_id(select: discord.ui.Select[Any]) -> int:
    """The row id a pick menu returned (values can be crafted: anything else is refused)."""
    value = select.values[0] if select.values else ""
    if not value.isdecimal():
        raise UserError("That choice isn't valid any more; open the list again.")
    return int(value)


def submitted_values(interaction: discord.Interaction) -> dict[str, str]:
    """custom_id → text of a submitted modal, whatever its layout (labels or action rows)."""
    values: dict[str, str] = {}

    def walk(components: list[dict[str, Any]]) -> None:
        for component in components:
            if isinstance(component.get("custom_id"), str) and isinstance(component.get("value"), str):
                values[component["custom_id"]] = component["value"]
            walk(component.get("components") or [])
            if isinstance(component.get("component"), dict):
                walk([component["component"]])

    walk(list((interaction.data or {}).get("components") or []))  # type: ignore[arg-type]
    return values
