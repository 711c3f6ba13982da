"""What simulated users do: run commands, autocomplete, click, pick, submit modals, react, post."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import messages
from .commands import CHAT_INPUT, MESSAGE_COMMAND, InvocationContext, RegisteredCommand, build_invocation
from .core import StandInCore
from .errors import DiscordHTTPError, StandInUsageError
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionHandle,
    InteractionRecord,
    create_interaction,
)
from .messages import parse_emoji, walk_components
from .permissions import Perm
from .state import Channel, ChannelType, Emoji, Guild, Role, StoredMessage, User
from .validation import SELECT_TYPES, STRING_SELECT, TEXT_INPUT, validate_message


class UserActions:
    """Mixin for ``DiscordStandIn``: every method acts as a Discord user would, then dispatches."""

    _core: StandInCore
    _handles: dict[int, InteractionHandle]

    def guild(self, guild_id: int) -> Guild:
        guild = self._core.world.guilds.get(guild_id)
        if guild is None:
            raise StandInUsageError(f"unknown guild {guild_id}")
        return guild

    def channel(self, channel_id: int) -> Channel:
        channel = self._core.world.channels.get(channel_id)
        if channel is None:
            raise StandInUsageError(f"unknown channel {channel_id}")
        return channel

    # -- interactions ------------------------------------------------------------------------------------

    def _context(
        self, user: User, guild_id: int | None, channel_id: int | None
    ) -> tuple[Guild | None, Channel]:
        world = self._core.world
        if channel_id is not None:
            channel = self.channel(channel_id)
            if channel.deleted:
                raise StandInUsageError(f"channel {channel_id} was deleted")
        elif guild_id is not None:
            channel = next(
                (
                    world.channels[c]
                    for c in self.guild(guild_id).channel_ids
                    if world.channels[c].type == ChannelType.GUILD_TEXT and not world.channels[c].deleted
                ),
                None,
            )
            if channel is None:
                raise StandInUsageError(f"guild {guild_id} has no text channel")
        else:
            channel = world.dm_channel(user)
        guild = world.guild_of(channel)
        if guild_id is not None and (guild is None or guild.id != guild_id):
            raise StandInUsageError(f"channel {channel.id} is not in guild {guild_id}")
        if guild is not None:
            if user.id not in guild.members:
                raise StandInUsageError(f"{user.username} is not a member of {guild.name}")
            if not world.permissions_for(channel, user.id) & Perm.VIEW_CHANNEL:
                raise StandInUsageError(f"{user.username} cannot see #{channel.name}")
        return guild, channel

    def _command(
        self, name: str, user: User, guild: Guild | None, channel: Channel, command_type: int = CHAT_INPUT
    ) -> RegisteredCommand:
        registry = self._core.commands
        command = registry.resolve(name, guild.id if guild else None, command_type)
        if command is None:
            known = sorted(
                {c.name for c in registry.commands(None) + (registry.commands(guild.id) if guild else [])}
            )
            raise StandInUsageError(f"the bot never registered /{name} here; registered: {known}")
        definition = command.definition
        if guild is None:
            if command.guild_id is not None or definition.get("dm_permission") is False:
                raise StandInUsageError(f"/{name} is not available in DMs")
            if definition.get("contexts") is not None and 1 not in definition["contexts"]:
                raise StandInUsageError(f"/{name} does not allow the BOT_DM context")
        else:
            if (
                command.guild_id is None
                and definition.get("contexts") is not None
                and 0 not in definition["contexts"]
            ):
                raise StandInUsageError(f"/{name} does not allow the GUILD context")
            perms = self._core.world.permissions_for(channel, user.id)
            if not perms & Perm.USE_APPLICATION_COMMANDS:
                raise StandInUsageError(f"{user.username} lacks USE_APPLICATION_COMMANDS in #{channel.name}")
            required = definition.get("default_member_permissions")
            if required is not None and not perms & Perm.ADMINISTRATOR:
                needed = int(required)
                if needed == 0 or perms & needed != needed:
                    raise StandInUsageError(
                        f"{user.username} may not use /{name} (default_member_permissions)"
                    )
        return command

    def _handle(self, record: InteractionRecord) -> InteractionHandle:
        handle = InteractionHandle(self._core, record)
        self._handles[record.id] = handle
        return handle

    async def invoke_command(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: User,
        guild_id: int | None = None,
        channel_id: int | None = None,
        subcommand: str | None = None,
    ) -> InteractionHandle:
        """A user runs ``/name`` (APPLICATION_COMMAND); options are typed from the registered schema.

        Without ``guild_id``/``channel_id`` the command runs in the user's DM with the bot.
        """
        guild, channel = self._context(user, guild_id, channel_id)
        command = self._command(name, user, guild, channel)
        context = InvocationContext(self._core.world, guild, channel)
        options_payload, resolved = build_invocation(command, options, subcommand, context)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type}
        if options_payload:
            data["options"] = options_payload
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = create_interaction(
            self._core, type=APPLICATION_COMMAND, user=user, channel=channel, data=data, command=command
        )
        return self._handle(record)

    async def invoke_message_command(
        self, name: str, message_id: int, *, user: User, channel_id: int
    ) -> InteractionHandle:
        """A user picks the message context-menu command ``name`` (Apps menu) on a message."""
        guild, channel = self._context(user, None, channel_id)
        message = self._core.world.live_message(message_id)
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise StandInUsageError(f"message {message_id} is not in channel {channel_id}")
        command = self._command(name, user, guild, channel, MESSAGE_COMMAND)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self._core.render(message)}},
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = create_interaction(
            self._core, type=APPLICATION_COMMAND, user=user, channel=channel, data=data, command=command
        )
        return self._handle(record)

    async def invoke_autocomplete(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]],
        *,
        focused: str,
        user: User,
        guild_id: int | None = None,
        channel_id: int | None = None,
        subcommand: str | None = None,
    ) -> InteractionHandle:
        """A user types into option ``focused`` of ``/name`` (APPLICATION_COMMAND_AUTOCOMPLETE)."""
        guild, channel = self._context(user, guild_id, channel_id)
        command = self._command(name, user, guild, channel)
        context = InvocationContext(self._core.world, guild, channel)
        options_payload, resolved = build_invocation(command, options, subcommand, context, focused=focused)
        focused_type = _focused_type(options_payload)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "version": str(command.version),
            "options": options_payload,
        }
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        record = create_interaction(
            self._core,
            type=AUTOCOMPLETE,
            user=user,
            channel=channel,
            data=data,
            command=command,
            focused_type=focused_type,
        )
        return self._handle(record)

    def _component_message(
        self, message_id: int, user: User, *, forged: bool = False
    ) -> tuple[StoredMessage, Channel]:
        world = self._core.world
        message = world.live_message(message_id)
        if message is None:
            raise StandInUsageError(f"message {message_id} does not exist (or was deleted)")
        if message.ephemeral and not forged:
            owner = self._core.interactions.get(message.interaction_id or 0)
            if owner is None or owner.user_id != user.id:
                raise StandInUsageError(
                    "only the user who received an ephemeral message can use its components"
                )
        _, channel = self._context(user, None, message.channel_id)
        return message, channel

    def _find_component(self, message: StoredMessage, custom_id: str) -> dict[str, Any]:
        for component in walk_components(message.components):
            if component.get("custom_id") == custom_id:
                if component.get("disabled"):
                    raise StandInUsageError(f"component {custom_id!r} is disabled")
                return component
        known = [c.get("custom_id") for c in walk_components(message.components) if c.get("custom_id")]
        raise StandInUsageError(f"message {message.id} has no component {custom_id!r}; it has {known}")

    async def click_button(self, message_id: int, custom_id: str, *, user: User) -> InteractionHandle:
        """A user clicks a button (MESSAGE_COMPONENT, component_type 2)."""
        return await self._click(message_id, custom_id, user, forged=False)

    async def forge_click(self, message_id: int, custom_id: str, *, user: User) -> InteractionHandle:
        """``user`` clicks a button of someone else's ephemeral message.

        Discord's client never offers that, but a crafted request can carry any custom id:
        this lets a test check that the bot verifies who clicks, not only what was clicked.
        """
        return await self._click(message_id, custom_id, user, forged=True)

    async def _click(self, message_id: int, custom_id: str, user: User, *, forged: bool) -> InteractionHandle:
        message, channel = self._component_message(message_id, user, forged=forged)
        button = self._find_component(message, custom_id)
        if button.get("type") != 2:
            raise StandInUsageError(f"component {custom_id!r} is not a button")
        data = {"custom_id": custom_id, "component_type": 2, "id": button.get("id")}
        record = create_interaction(
            self._core, type=MESSAGE_COMPONENT, user=user, channel=channel, data=data, source_message=message
        )
        return self._handle(record)

    async def forge_component(
        self, message_id: int, custom_id: str, *, user: User, values: Sequence[str] | None = None
    ) -> InteractionHandle:
        """A crafted component interaction naming ``custom_id`` on message ``message_id``.

        Discord's client only sends the custom ids a message shows, but a crafted request can
        name any. The interaction's message then carries the crafted control (a button, or a
        string select picking ``values``) in place of the message's own first control of that
        kind (or in a row of its own), which is what such a request makes a bot see. Use it to
        check that the bot verifies what a custom id names, not only who clicks.
        """
        message, channel = self._component_message(message_id, user, forged=True)
        kind = 2 if values is None else STRING_SELECT
        rendered = self._core.render(message)
        rows = rendered.setdefault("components", [])
        target = next((c for c in walk_components(rows) if c.get("type") == kind), None)
        if target is None:
            target = {"type": kind, "id": 900 + len(rows)}
            rows.append({"type": 1, "id": 800 + len(rows), "components": [target]})
        target["custom_id"] = custom_id
        if values is None:
            target.setdefault("style", 2)
            target.setdefault("label", "forged")
        else:
            target["options"] = [{"label": value, "value": value} for value in values]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind, "id": target["id"]}
        if values is not None:
            data["values"] = list(values)
        record = create_interaction(
            self._core,
            type=MESSAGE_COMPONENT,
            user=user,
            channel=channel,
            data=data,
            source_message=message,
            message_payload=rendered,
        )
        return self._handle(record)

    async def select_menu(
        self, message_id: int, custom_id: str, values: Sequence[Any], *, user: User
    ) -> InteractionHandle:
        """A user picks ``values`` in a select menu (strings, or users/roles/channels for entity selects)."""
        message, channel = self._component_message(message_id, user)
        select = self._find_component(message, custom_id)
        select_type = select.get("type")
        if select_type not in SELECT_TYPES:
            raise StandInUsageError(f"component {custom_id!r} is not a select menu")
        low, high = select.get("min_values", 1), select.get("max_values", 1)
        if not low <= len(values) <= high:
            raise StandInUsageError(f"{len(values)} values chosen; the select allows {low}..{high}")
        resolved: dict[str, dict[str, Any]] = {}
        if select_type == STRING_SELECT:
            allowed = [o.get("value") for o in select.get("options", [])]
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise StandInUsageError(f"{unknown} are not options of {custom_id!r}: {allowed}")
            out_values = list(values)
        else:
            out_values = self._entity_values(select_type, values, channel, resolved)
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": select_type,
            "values": out_values,
            "id": select.get("id"),
        }
        if resolved:
            data["resolved"] = resolved
        record = create_interaction(
            self._core, type=MESSAGE_COMPONENT, user=user, channel=channel, data=data, source_message=message
        )
        return self._handle(record)

    def _entity_values(
        self, select_type: int, values: Sequence[Any], channel: Channel, resolved: dict[str, dict[str, Any]]
    ) -> list[str]:
        world = self._core.world
        guild = world.guild_of(channel)
        out: list[str] = []
        for value in values:
            if isinstance(value, User) and select_type in (5, 7):
                resolved.setdefault("users", {})[str(value.id)] = value.to_payload()
                if guild is not None and value.id in guild.members:
                    member = world.member_payload(guild.members[value.id], with_user=False, channel=channel)
                    resolved.setdefault("members", {})[str(value.id)] = member
                out.append(str(value.id))
            elif isinstance(value, Role) and select_type in (6, 7):
                resolved.setdefault("roles", {})[str(value.id)] = value.to_payload()
                out.append(str(value.id))
            elif isinstance(value, Channel) and select_type == 8:
                payload = world.channel_payload(value)
                payload["permissions"] = str(world.permissions_for(value, world.bot.id))
                resolved.setdefault("channels", {})[str(value.id)] = payload
                out.append(str(value.id))
            else:
                raise StandInUsageError(f"{value!r} cannot be picked in a select of type {select_type}")
        return out

    async def submit_modal(
        self,
        custom_id: str,
        fields: dict[str, str | list[str]],
        *,
        user: User,
        interaction: InteractionHandle | None = None,
    ) -> InteractionHandle:
        """A user submits the modal ``custom_id`` the bot opened for them (MODAL_SUBMIT).

        ``fields`` maps text-input custom_ids to text (string selects in labels take a list).
        """
        parent = self._open_modal(custom_id, user, interaction)
        assert parent.modal is not None
        components = _modal_submission(parent.modal, fields)
        world = self._core.world
        channel = world.channels[parent.channel_id]
        source = world.live_message(parent.source_message_id) if parent.source_message_id else None
        data = {"custom_id": custom_id, "components": components}
        parent.modal_submitted = True
        record = create_interaction(
            self._core,
            type=MODAL_SUBMIT,
            user=user,
            channel=channel,
            data=data,
            source_message=source,
            parent=parent,
        )
        return self._handle(record)

    async def forge_modal_submit(
        self,
        custom_id: str,
        fields: dict[str, str],
        *,
        user: User,
        message_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionHandle:
        """A crafted MODAL_SUBMIT of a form the bot never opened (text inputs in labels).

        With ``message_id`` it claims to come from a form opened on that message; else it is
        sent in ``channel_id``/``guild_id`` (or the user's DM), like :meth:`invoke_command`.
        """
        source = None
        if message_id is not None:
            source, channel = self._component_message(message_id, user, forged=True)
        else:
            _, channel = self._context(user, guild_id, channel_id)
        components = [
            {
                "type": 18,
                "id": 2 * index + 1,
                "component": {"type": TEXT_INPUT, "id": 2 * index + 2, "custom_id": key, "value": value},
            }
            for index, (key, value) in enumerate(fields.items())
        ]
        record = create_interaction(
            self._core,
            type=MODAL_SUBMIT,
            user=user,
            channel=channel,
            data={"custom_id": custom_id, "components": components},
            source_message=source,
        )
        return self._handle(record)

    def _open_modal(self, custom_id: str, user: User, handle: InteractionHandle | None) -> InteractionRecord:
        candidates = [
            r
            for r in self._core.interactions.values()
            if r.modal is not None
            and r.user_id == user.id
            and r.modal.get("custom_id") == custom_id
            and not r.modal_submitted
            and (handle is None or r.id == handle.id)
        ]
        if not candidates:
            raise StandInUsageError(
                f"no open modal {custom_id!r} for {user.username} (did the bot send one?)"
            )
        return candidates[-1]

    def interaction(self, interaction_id: int) -> InteractionHandle:
        handle = self._handles.get(interaction_id)
        if handle is None:
            raise StandInUsageError(f"unknown interaction {interaction_id}")
        return handle

    # -- reactions and user messages ----------------------------------------------------------------------

    def _user_message(self, user: User, channel_id: int, message_id: int) -> tuple[StoredMessage, Channel]:
        _, channel = self._context(user, None, channel_id)
        message = self._core.world.live_message(message_id)
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise StandInUsageError(f"message {message_id} is not in channel {channel_id}")
        return message, channel

    def _emoji(self, emoji: str) -> Emoji:
        try:
            parsed = parse_emoji(emoji)
        except DiscordHTTPError:
            raise StandInUsageError(f"{emoji!r} is not an emoji") from None
        if parsed.id is not None:
            known = self._core.world.find_emoji(parsed.id)
            if known is None:
                raise StandInUsageError(f"unknown custom emoji {emoji!r} (use add_custom_emoji)")
            parsed = known
        return parsed

    async def add_reaction(self, user: User, channel_id: int, message_id: int, emoji: str) -> None:
        """A user reacts; dispatches MESSAGE_REACTION_ADD."""
        message, channel = self._user_message(user, channel_id, message_id)
        parsed = self._emoji(emoji)
        if channel.guild_id is not None:
            perms = self._core.world.permissions_for(channel, user.id)
            if not perms & Perm.READ_MESSAGE_HISTORY or (
                parsed.key not in message.reactions and not perms & Perm.ADD_REACTIONS
            ):
                raise StandInUsageError(f"{user.username} may not react in #{channel.name}")
        if messages.add_reaction(message, parsed, user.id):
            self._core.reaction_event("MESSAGE_REACTION_ADD", message, parsed, user.id)

    async def remove_reaction(self, user: User, channel_id: int, message_id: int, emoji: str) -> None:
        """A user removes their reaction; dispatches MESSAGE_REACTION_REMOVE."""
        message, _ = self._user_message(user, channel_id, message_id)
        parsed = self._emoji(emoji)
        if not messages.remove_reaction(message, parsed, user.id):
            raise StandInUsageError(f"{user.username} has not reacted with {emoji!r}")
        self._core.reaction_event("MESSAGE_REACTION_REMOVE", message, parsed, user.id)

    async def send_user_message(
        self, user: User, channel_id: int, content: str, *, reply_to: int | None = None
    ) -> dict[str, Any]:
        """A user posts a message; dispatches MESSAGE_CREATE (content blanked without MESSAGE_CONTENT)."""
        _, channel = self._context(user, None, channel_id)
        if (
            channel.guild_id is not None
            and not self._core.world.permissions_for(channel, user.id) & Perm.SEND_MESSAGES
        ):
            raise StandInUsageError(f"{user.username} may not send messages in #{channel.name}")
        payload: dict[str, Any] = {"content": content}
        if reply_to is not None:
            payload["message_reference"] = {"message_id": str(reply_to)}
        try:
            draft = validate_message(payload, (), mode="create", allowed_flags=0)
        except DiscordHTTPError as exc:
            raise StandInUsageError(f"Discord's client would refuse this message: {exc.body()}") from None
        referenced = self._core.world.live_message(reply_to) if reply_to is not None else None
        if reply_to is not None and referenced is None:
            raise StandInUsageError(f"cannot reply to unknown message {reply_to}")
        message = messages.create_message(self._core.world, channel, user, draft, referenced=referenced)
        self._core.message_created(message)
        return self._core.render(message)


def _focused_type(options: list[dict[str, Any]]) -> int | None:
    for option in options:
        if option.get("focused"):
            return option["type"]
        nested = _focused_type(option.get("options") or [])
        if nested is not None:
            return nested
    return None


def _modal_submission(modal: dict[str, Any], fields: dict[str, str | list[str]]) -> list[dict[str, Any]]:
    """Mirror the modal's layout (action rows or labels) the way Discord reports submitted values."""
    counter = 0

    def next_id(component: dict[str, Any]) -> int:
        nonlocal counter
        counter += 1
        return component.get("id") if isinstance(component.get("id"), int) else counter

    remaining = dict(fields)
    submitted: list[dict[str, Any]] = []
    for component in modal.get("components", []):
        outer_id = next_id(component)
        if component.get("type") == 1:
            child = component["components"][0]
            submitted.append(
                {
                    "type": 1,
                    "id": outer_id,
                    "components": [_submitted_input(child, next_id(child), remaining)],
                }
            )
        elif component.get("type") == 18:
            child = component["component"]
            submitted.append(
                {"type": 18, "id": outer_id, "component": _submitted_input(child, next_id(child), remaining)}
            )
        else:
            submitted.append({"type": component.get("type"), "id": outer_id})
    if remaining:
        raise StandInUsageError(f"the modal has no inputs {sorted(remaining)}")
    return submitted


def _submitted_input(
    component: dict[str, Any], component_id: int, fields: dict[str, str | list[str]]
) -> dict[str, Any]:
    custom_id = component.get("custom_id")
    value = fields.pop(custom_id, None)
    if component.get("type") == TEXT_INPUT:
        text = "" if value is None else value
        if not isinstance(text, str):
            raise StandInUsageError(f"text input {custom_id!r} takes a string")
        if component.get("required", True) and not text:
            raise StandInUsageError(f"text input {custom_id!r} is required")
        low, high = component.get("min_length", 0), component.get("max_length", 4000)
        if text and not low <= len(text) <= high:
            raise StandInUsageError(f"text input {custom_id!r}: length {len(text)} outside {low}..{high}")
        return {"type": TEXT_INPUT, "id": component_id, "custom_id": custom_id, "value": text}
    if component.get("type") == STRING_SELECT:
        values = [] if value is None else value
        if not isinstance(values, list):
            raise StandInUsageError(f"select {custom_id!r} takes a list of values")
        allowed = [o.get("value") for o in component.get("options", [])]
        if any(v not in allowed for v in values):
            raise StandInUsageError(f"select {custom_id!r} only offers {allowed}")
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if component.get("required", True) and not low <= len(values) <= high:
            raise StandInUsageError(f"select {custom_id!r} needs {low}..{high} values")
        return {"type": STRING_SELECT, "id": component_id, "custom_id": custom_id, "values": values}
    raise StandInUsageError(f"submitting modal component type {component.get('type')} is not emulated")
