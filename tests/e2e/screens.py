"""Helpers for the history and gallery end-to-end tests: run a screen, read it, press its controls."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.e2e.harness import World
from tests.e2e.helpers import ambient, result_of
from tests.standin import Guild, InteractionHandle, User

#: How long the bot may take to answer a screen (it defers at once, then reads SQLite).
ANSWER_S = 10.0


async def open_screen(
    world: World,
    command: str,
    subcommand: str,
    user: User,
    *,
    guild: Guild | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run ``/command subcommand`` and return the private message it answers with."""
    guild = guild or world.guild
    handle = await world.standin.invoke_command(
        command,
        options,
        subcommand=subcommand,
        user=user,
        guild_id=guild.id,
        channel_id=world.standin.text_channel(guild.id).id,
    )
    return await answer(handle)


async def make(
    world: World, user: User, prompt: str, *, guild: Guild | None = None, **options: Any
) -> dict[str, Any]:
    """A real, cheap soundscape (2.5 s): its posted result message."""
    options = {"duration": 2.5, **options}
    if guild is None:
        handle = await ambient(world, user, prompt=prompt, **options)
    else:
        handle = await world.standin.invoke_command(
            "ambient", {"prompt": prompt, **options}, user=user, guild_id=guild.id,
            channel_id=world.standin.text_channel(guild.id).id,
        )  # fmt: skip
    return await result_of(world, handle)


def description_lines(message: dict[str, Any]) -> list[str]:
    """The numbered lines of a history or gallery page."""
    return [
        line
        for line in message["embeds"][0].get("description", "").split("\n")
        if re.match(r"\*\*\d+\.\*\*", line)
    ]


def footer(message: dict[str, Any]) -> str:
    return message["embeds"][0].get("footer", {}).get("text", "")


def components(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in message.get("components", []) for item in row.get("components", [])]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [item["custom_id"] for item in components(message) if "custom_id" in item]


def component(message: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The one control whose custom id starts with ``prefix``."""
    (found,) = [item for item in components(message) if item.get("custom_id", "").startswith(prefix)]
    return found


def option_values(message: dict[str, Any]) -> list[int]:
    """Row ids offered by the page's pick menu, in page order."""
    select = next((item for item in components(message) if item.get("type") == 3), None)
    return [] if select is None else [int(option["value"]) for option in select["options"]]


async def pick(world: World, message: dict[str, Any], value: int, user: User) -> dict[str, Any]:
    """Choose a row in the page's pick menu; returns the private card that comes back."""
    select = next(item for item in components(message) if item.get("type") == 3)
    handle = await world.standin.select_menu(int(message["id"]), select["custom_id"], [str(value)], user=user)
    return await answer(handle)


async def press(
    world: World, message: dict[str, Any], custom_id: str, user: User, *, forged: bool = False
) -> InteractionHandle:
    click = world.standin.forge_click if forged else world.standin.click_button
    return await click(int(message["id"]), custom_id, user=user)


async def answer(handle: InteractionHandle) -> dict[str, Any]:
    """The private answer to a command or a press: the bot's private "thinking…" once replaced.

    (After a deferral, Discord turns the first follow-up into an edit of the placeholder.)
    """
    response = await handle.response()
    assert response.ephemeral, response
    if response.type == 4:  # answered at once, without deferring
        assert handle.original is not None
        return handle.original
    return (await handle.edit(0, timeout=ANSWER_S)).message


async def delete_as_moderator(world: World, channel_id: int, message_id: int) -> None:
    """Delete a message through the REST API, as a moderator's client would."""
    url = f"{world.standin.api_base_url}/channels/{channel_id}/messages/{message_id}"
    async with aiohttp.ClientSession() as session:
        async with session.delete(url, headers={"Authorization": f"Bot {world.standin.token}"}) as response:
            assert response.status == 204, await response.text()
