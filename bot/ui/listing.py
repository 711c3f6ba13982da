"""One paged listing component, used by the history and the galleries.

A :class:`Screen` says what it lists and how it looks: its page query, embed and pick options,
the card of one row and the actions on it. This module owns everything else, once: the
persistent controls (◀ ▶, the pick menu, the card buttons) as ``DynamicItem`` classes made
for each screen, the private answers, and the rule that what a custom id names is never
trusted without the screen's check. Adding an action to a screen is one :class:`Action` in
its ``actions`` and its name in :meth:`Screen.card_actions`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

import discord

from bot.errors import answering_errors, defer_private
from bot.ui.components import pick_select, selected_id

if TYPE_CHECKING:
    from bot.storage import Page

L = TypeVar("L")
"""What one listing message shows (owner, filters, order): it lives in its controls' custom ids."""

ActionRun = Callable[[discord.Interaction, int], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    """One button on a card: how it looks, how a click is first answered, what it does."""

    label: str
    emoji: str
    style: discord.ButtonStyle
    run: ActionRun
    """``run(interaction, row_id)``; raises :class:`UserError` for a refusal."""
    answer: Literal["private", "public", "self"] = "private"
    """"private": a private "thinking…" first; "public": one everybody sees (the result is for
    the channel); "self": ``run`` answers itself (a modal must be the very first answer)."""


class Screen(ABC, Generic[L]):
    """A paged listing: ``key`` names it in custom ids (``ambientgen:<key>:…``).

    Make one instance per screen; it builds its persistent controls (register them with
    ``bot.add_dynamic_items(*screen.items())``).
    """

    key: ClassVar[str]
    #: Regex of the ◀ ▶ custom ids, with ``(?P<dir>prev|next)``; see :meth:`from_nav`.
    nav_template: ClassVar[str]
    #: Regex of the pick menu's custom id; see :meth:`from_pick`.
    pick_template: ClassVar[str]
    #: action name → action; the card buttons' custom ids are ``ambientgen:<key>:<action>:<row id>``.
    actions: ClassVar[Mapping[str, Action]]

    # -- what a custom id says ---------------------------------------------------------------

    @abstractmethod
    def nav_id(self, listing: L, direction: str, page: int) -> str:
        """The custom id of ◀ or ▶ showing ``page`` of ``listing`` (at most 100 characters)."""

    @abstractmethod
    def from_nav(self, match: re.Match[str]) -> tuple[L, int]:
        """The listing and page a ◀ ▶ custom id names."""

    @abstractmethod
    def pick_id(self, listing: L) -> str:
        """The custom id of the pick menu under a page of ``listing``."""

    @abstractmethod
    def from_pick(self, match: re.Match[str]) -> L:
        """The listing a pick menu's custom id names (as far as the card needs it)."""

    def __init__(self) -> None:
        self._items = _make_items(self)

    def check(self, interaction: discord.Interaction, listing: L) -> None:
        """Refuse (``UserError``) if the clicker may not use this listing's controls."""

    # -- what is shown -----------------------------------------------------------------------

    @abstractmethod
    async def page(self, interaction: discord.Interaction, listing: L, number: int) -> Page[Any]:
        """Page ``number`` of ``listing`` (the last one if it no longer exists)."""

    @abstractmethod
    def embed(self, interaction: discord.Interaction, listing: L, page: Page[Any]) -> discord.Embed:
        """The page as an embed, within Discord's limits."""

    @abstractmethod
    def options(self, page: Page[Any]) -> list[discord.SelectOption]:
        """One pick option per row; values are row ids."""

    @abstractmethod
    async def card(self, interaction: discord.Interaction, row_id: int) -> tuple[discord.Embed, Any]:
        """The card of one row and the row itself; refuses rows the clicker may not see."""

    def card_actions(self, interaction: discord.Interaction, row: Any) -> Sequence[str]:
        """The actions on a row's card, in order (default: every action)."""
        return list(self.actions)

    # -- messages ------------------------------------------------------------------------------

    async def message(
        self, interaction: discord.Interaction, listing: L, number: int
    ) -> tuple[discord.Embed, discord.ui.View]:
        """A page of ``listing`` with its controls: the pick menu, then ◀ ▶ if there are more."""
        page = await self.page(interaction, listing, number)
        view = discord.ui.View(timeout=None)
        if page.items:
            view.add_item(self._items.pick(self.pick_id(listing), self.options(page), listing))
        if page.count > 1:
            for direction, target, disabled in (
                ("prev", max(page.number - 1, 0), page.number == 0),
                ("next", min(page.number + 1, page.count - 1), page.number >= page.count - 1),
            ):
                button = self._items.nav(listing, direction, target)
                button.item.disabled = disabled
                view.add_item(button)
        return self.embed(interaction, listing, page), view

    async def show(self, interaction: discord.Interaction, listing: L) -> None:
        """Answer a command with the first page, privately: the deferred response is edited."""
        await defer_private(interaction)
        embed, view = await self.message(interaction, listing, 0)
        await interaction.edit_original_response(embed=embed, view=view)

    def card_view(self, interaction: discord.Interaction, row_id: int, row: Any) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        for action in self.card_actions(interaction, row):
            view.add_item(self.button(action, row_id))
        return view

    def button(self, action: str, row_id: int) -> discord.ui.DynamicItem[discord.ui.Button[Any]]:
        """The persistent button of ``action`` on the card of ``row_id``."""
        return self._items.action(action, row_id)

    def items(self) -> tuple[type[discord.ui.DynamicItem[Any]], ...]:
        """The ``DynamicItem`` classes to register with ``bot.add_dynamic_items``."""
        return self._items.classes


@dataclass(frozen=True)
class _Items:
    """A screen's control classes and how to make one of each."""

    classes: tuple[type[discord.ui.DynamicItem[Any]], ...]
    nav: Callable[[Any, str, int], discord.ui.DynamicItem[discord.ui.Button[Any]]]
    pick: Callable[[str, list[discord.SelectOption], Any], discord.ui.DynamicItem[discord.ui.Select[Any]]]
    action: Callable[[str, int], discord.ui.DynamicItem[discord.ui.Button[Any]]]


def _make_items(screen: Screen[Any]) -> _Items:
    """``screen``'s persistent controls: classes of its own, so their templates match exactly
    its custom ids (one handler per custom id)."""
    key = screen.key
    actions = "|".join(re.escape(name) for name in screen.actions)

    class NavButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=screen.nav_template):
        """◀ / ▶ of a page."""

        def __init__(self, listing: Any, direction: str, page: int) -> None:
            super().__init__(
                discord.ui.Button(
                    emoji="◀️" if direction == "prev" else "▶️",
                    style=discord.ButtonStyle.secondary,
                    custom_id=screen.nav_id(listing, direction, page),
                )
            )
            self.listing = listing
            self.page = page

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
        ) -> NavButton:
            listing, page = screen.from_nav(match)
            return cls(listing, match["dir"], page)

        async def callback(self, interaction: discord.Interaction) -> None:
            async with answering_errors(interaction, f"{key} page"):
                screen.check(interaction, self.listing)
                await interaction.response.defer()
                embed, view = await screen.message(interaction, self.listing, self.page)
                await interaction.edit_original_response(embed=embed, view=view)

    class PickSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=screen.pick_template):
        """Picks one row of a page: its card comes back, privately, with the actions."""

        def __init__(self, custom_id: str, options: list[discord.SelectOption], listing: Any) -> None:
            super().__init__(pick_select(custom_id, options))
            self.listing = listing

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Select[Any], match: re.Match[str], /
        ) -> PickSelect:
            return cls(item.custom_id or "", item.options, screen.from_pick(match))

        async def callback(self, interaction: discord.Interaction) -> None:
            async with answering_errors(interaction, f"{key} pick"):
                screen.check(interaction, self.listing)
                await defer_private(interaction)
                row_id = selected_id(self.item)
                embed, row = await screen.card(interaction, row_id)
                await interaction.followup.send(
                    embed=embed, view=screen.card_view(interaction, row_id, row), ephemeral=True
                )

    class ActionButton(
        discord.ui.DynamicItem[discord.ui.Button[Any]],
        template=rf"ambientgen:{key}:(?P<action>{actions}):(?P<id>\d+)",
    ):
        """One action on one row; what the row is, is checked by the action itself."""

        def __init__(self, action: str, row_id: int) -> None:
            look = screen.actions[action]
            super().__init__(
                discord.ui.Button(
                    label=look.label,
                    emoji=look.emoji,
                    style=look.style,
                    custom_id=f"ambientgen:{key}:{action}:{row_id}",
                )
            )
            self.action = action
            self.row_id = row_id

        @classmethod
        async def from_custom_id(
            cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
        ) -> ActionButton:
            return cls(match["action"], int(match["id"]))

        async def callback(self, interaction: discord.Interaction) -> None:
            action = screen.actions[self.action]
            async with answering_errors(interaction, f"{key} {self.action}"):
                if action.answer == "private":
                    await defer_private(interaction)
                elif action.answer == "public":
                    await interaction.response.defer(thinking=True)
                await action.run(interaction, self.row_id)

    for cls, name in ((NavButton, "NavButton"), (PickSelect, "PickSelect"), (ActionButton, "ActionButton")):
        cls.__name__ = cls.__qualname__ = f"{type(screen).__name__}{name}"
    return _Items(
        classes=(NavButton, PickSelect, ActionButton), nav=NavButton, pick=PickSelect, action=ActionButton
    )
