"""Layered scenes: under a mix, reroll one layer or change the levels; the other stems are reused."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.errors import UserError, answering_errors, defer_private
from bot.storage import Job
from bot.ui.components import JobControl, client_bot, job_of_message, submitted_values
from bot.ui.text import INPUT_LABEL_MAX, OPTION_LABEL_MAX, PROMPT_IN_CONTENT, plain, shown
from generation.recipes.layers import MAX_GAIN, MIN_GAIN

if TYPE_CHECKING:
    from bot.app import AmbientBot

LEVELS_FORM = re.compile(r"ambientgen:levels:(?P<job>\d+)")


class LayerRerollSelect(
    JobControl, discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"ambientgen:layer:(?P<job>\d+)"
):
    """A menu of the scene's layers: picking one queues a new take of just that layer."""

    def __init__(self, job_id: int, layers: list[str] | None = None) -> None:
        options = [
            discord.SelectOption(label=plain(f"{i + 1}. {text}", OPTION_LABEL_MAX), value=str(i))
            for i, text in enumerate(layers or [])
        ] or [discord.SelectOption(label="layer", value="0")]
        super().__init__(
            discord.ui.Select(
                custom_id=f"ambientgen:layer:{job_id}",
                placeholder="🎲 New take of one layer…",
                options=options,
                row=1,
            )
        )
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "layer reroll"):
            await defer_private(interaction)
            value = self.item.values[0] if self.item.values else ""
            if not value.isdecimal():
                raise UserError("That choice isn't valid any more.")
            scene = await self.result_job(interaction)  # this message's scene, never another
            job = await client_bot(interaction).service.reroll_layer(interaction, scene.id, int(value))
            await interaction.followup.send(
                f"🎲 Queued a new take of layer {int(value) + 1} (job #{job.id}); the other layers stay.",
                ephemeral=True,
            )


class LevelsButton(
    JobControl, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ambientgen:levels:(?P<job>\d+)"
):
    """Opens a form with one level per layer; submitting posts the remix at once."""

    def __init__(self, job_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Levels",
                emoji="🎚️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"ambientgen:levels:{job_id}",
                row=2,
            )
        )
        self.job_id = job_id

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answering_errors(interaction, "levels form"):
            # A modal must be the first answer; this one lookup is fast.
            job = await self.result_job(interaction)
            if not job.recipe.layered:
                raise UserError("That scene can't be changed any more.")
            await interaction.response.send_modal(levels_form(job))


def levels_form(job: Job) -> discord.ui.Modal:
    """One text field per layer, filled with its current level."""
    modal = discord.ui.Modal(title="Layer levels", custom_id=f"ambientgen:levels:{job.id}")
    for index, layer in enumerate(job.recipe.layers):
        modal.add_item(
            discord.ui.Label(
                text=plain(f"{index + 1}. {layer.text}", INPUT_LABEL_MAX),
                description=f"Level {MIN_GAIN:g} to {MAX_GAIN:g} (1 = as rendered, 0 = muted)",
                component=discord.ui.TextInput(
                    custom_id=f"gain{index}", default=f"{layer.gain:g}", max_length=8, required=True
                ),
            )
        )
    # Answered by MixCog.on_levels_submitted (also after a restart), not by this object.
    modal.stop()
    return modal


def submitted_gains(values: dict[str, str], layers: int) -> list[float]:
    """The levels typed in the form, one per layer; raises :class:`UserError` for a non-number."""
    gains = []
    for index in range(layers):
        text = values.get(f"gain{index}", "").strip().replace(",", ".").removesuffix("%")
        try:
            gain = float(text)
        except ValueError:
            raise UserError(
                f"Level {index + 1} must be a number from 0 to 2; you typed {text[:20]!r}."
            ) from None
        gains.append(gain / 100 if values.get(f"gain{index}", "").strip().endswith("%") else gain)
    return gains


def mix_controls(job: Job) -> list[discord.ui.Item[Any]]:
    """The items under a layered result."""
    return [LayerRerollSelect(job.id, [layer.text for layer in job.recipe.layers]), LevelsButton(job.id)]


class MixCog(commands.Cog):
    def __init__(self, bot: AmbientBot) -> None:
        self.bot = bot

    @commands.Cog.listener("on_interaction")
    async def on_levels_submitted(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = LEVELS_FORM.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return
        async with answering_errors(interaction, "levels"):
            await defer_private(interaction)
            # The form names its scene, but a crafted submission could name any: it must be
            # the scene of the message the form was opened from.
            parent = await job_of_message(interaction, int(match["job"]))
            if not parent.recipe.layered:
                raise UserError("That scene can't be changed any more.")
            gains = submitted_gains(submitted_values(interaction), len(parent.recipe.layers))
            job = await self.bot.service.remix(interaction, parent.id, gains)
            levels = ", ".join(
                f"{shown(layer.text, PROMPT_IN_CONTENT // 4)} {layer.gain:g}" for layer in job.recipe.layers
            )
            await interaction.followup.send(f"🎚️ Remixing at {levels} (job #{job.id}).", ephemeral=True)


async def setup(bot: AmbientBot) -> None:
    bot.add_dynamic_items(LayerRerollSelect, LevelsButton)
    await bot.add_cog(MixCog(bot))
