"""One place where command errors become friendly, ephemeral answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
from discord import app_commands

from bot.ui.text import escape, fit_content
from generation.errors import RequestError

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on our side and nothing was queued. Please try again in a moment."


class UserError(Exception):
    """A refusal the user can act on; its message is shown to them, ephemerally."""


def user_message(error: BaseException) -> str | None:
    """The text to show for an expected error, or None for a bug."""
    original = getattr(error, "original", None) or error
    if isinstance(original, RequestError):
        # The model side quotes the user's own words back ("The model '…' isn't loaded here"):
        # shown as typed, never as markdown, a link or a mention.
        return escape(str(original))
    if isinstance(original, UserError):
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


_PRIVATE = "ambientgen_private_defer"


async def defer_private(interaction: discord.Interaction) -> None:
    """Defer with a private "thinking…" placeholder (remembered, so errors stay private too)."""
    interaction.extras[_PRIVATE] = True
    await interaction.response.defer(ephemeral=True, thinking=True)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer privately whether or not the interaction was already deferred.

    A public "thinking…" placeholder left by an earlier ``defer()`` is removed first, so a
    refusal never shows in the channel; after a private defer the answer simply replaces it.
    Refusals may quote what the user typed, so the text is cut to Discord's content limit.
    """
    text = fit_content(text)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        public_placeholder = (
            interaction.response.type is discord.InteractionResponseType.deferred_channel_message
            and not interaction.extras.get(_PRIVATE)
        )
        if public_placeholder:
            try:
                await interaction.delete_original_response()
            except discord.NotFound:
                pass
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not send an error message for interaction %s", interaction.id, exc_info=True)


@asynccontextmanager
async def answering_errors(interaction: discord.Interaction, what: str) -> AsyncIterator[None]:
    """Give a component or modal callback the tree's error rules (they bypass its handler).

    An expected error is shown to the user privately; anything else is logged and answered
    with :data:`UNEXPECTED`. Nothing propagates.
    """
    try:
        yield
    except Exception as error:
        text = user_message(error)
        if text is None:
            log.error("%s failed", what, exc_info=error)
            text = UNEXPECTED
        else:
            log.info("%s refused for user %s: %s", what, interaction.user.id, text)
        await send_ephemeral(interaction, text)


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
