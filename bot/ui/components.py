"""Pieces shared by the paged, persistent screens (history and gallery): pick menus, ◀ ▶, forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import UserError
from generation.presets import get_preset

if TYPE_CHECKING:
    from bot.app import AmbientBot
    from bot.storage import Page


#: Discord's limit on a component's custom id.
MAX_CUSTOM_ID = 100
#: Longest search text of a listing: it travels in the page buttons' custom ids.
MAX_SEARCH = 40


def custom_id_with_tail(prefix: str, tail: str) -> str:
    """``prefix + tail``, the free-text ``tail`` shortened if the whole would exceed Discord's limit."""
    return prefix + tail[: max(0, MAX_CUSTOM_ID - len(prefix))]


#: (label, emoji, style) of one action button on a card.
ActionLook = tuple[str, str, discord.ButtonStyle]


def action_button(
    prefix: str, action: str, target_id: int, looks: dict[str, ActionLook]
) -> discord.ui.Button[Any]:
    """The button of ``action`` on the card of ``target_id``; its custom id is ``prefix:action:id``."""
    label, emoji, style = looks[action]
    return discord.ui.Button(
        label=label, emoji=emoji, style=style, custom_id=f"{prefix}:{action}:{target_id}"
    )


def listing_filters(search: str | None, preset: str | None) -> tuple[str | None, str | None]:
    """(search, preset key) of a listing command; blanks mean "any", an unknown preset is refused."""
    search = search.strip() if search else None
    key = get_preset(preset).key if preset and preset.strip() else None
    return search or None, key


def client_bot(interaction: discord.Interaction) -> AmbientBot:
    """The bot an interaction arrived at (components get no cog, only the interaction)."""
    return interaction.client  # type: ignore[return-value]


def pick_select(custom_id: str, options: list[discord.SelectOption]) -> discord.ui.Select[Any]:
    return discord.ui.Select(custom_id=custom_id, placeholder="Pick a soundscape…", options=options)


def selected_id(select: discord.ui.Select[Any]) -> int:
    """The row id a pick menu returned (values can be crafted: anything else is refused)."""
    value = select.values[0] if select.values else ""
    if not value.isdecimal():
        raise UserError("That choice isn't valid any more; open the list again.")
    return int(value)


def nav_buttons(page: Page[Any]) -> Iterator[tuple[str, int]]:
    """(direction, target page) of the ◀ and ▶ buttons; their custom ids differ by direction."""
    yield "prev", max(page.number - 1, 0)
    yield "next", min(page.number + 1, page.count - 1)


def paged_view(
    page: Page[Any],
    pick: discord.ui.Item[Any] | None,
    previous: discord.ui.DynamicItem[discord.ui.Button[Any]],
    following: discord.ui.DynamicItem[discord.ui.Button[Any]],
) -> discord.ui.View:
    """The controls under a page: its pick menu, then ◀ ▶ when there is more than one page."""
    view = discord.ui.View(timeout=None)
    if pick is not None:
        view.add_item(pick)
    if page.count > 1:
        previous.item.disabled = page.number == 0
        following.item.disabled = page.number >= page.count - 1
        view.add_item(previous)
        view.add_item(following)
    return view


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
