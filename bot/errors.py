"""One place where command errors become friendly, ephemeral answers."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from generation.errors import RequestError

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on our side and nothing was queued. Please try again in a moment."


class UserError(Exception):
    """A refusal the user can act on; its message is shown to them, ephemerally."""


def user_message(error: BaseException) -> str | None:
    """The text to show for an expected error, or None for a bug."""
    original = getattr(error, "original", None) or error
    if isinstance(original, UserError | RequestError):
        return str(original)
    if isinstance(error, app_commands.TransformerError):
        return f"That value for **{error.type.name.lower()}** isn't valid: {error.value!r}."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.MissingPermissions | app_commands.BotMissingPermissions):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return None


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer privately whether or not the interaction was already deferred.

    A public "thinking…" placeholder left by an earlier ``defer()`` is removed first, so a
    refusal never shows in the channel.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            try:
                await interaction.delete_original_response()
            except discord.NotFound:
                pass
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not send an error message for interaction %s", interaction.id, exc_info=True)


class AmbientTree(app_commands.CommandTree):
    """The command tree with the bot's single error handler."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        text = user_message(error)
        command = interaction.command.qualified_name if interaction.command else "?"
        if text is None:
            log.error("command /%s failed", command, exc_info=error)
            text = UNEXPECTED
        else:
            log.info("command /%s refused for user %s: %s", command, interaction.user.id, text)
        await send_ephemeral(interaction, text)
