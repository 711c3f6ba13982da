"""Interaction records, INTERACTION_CREATE payloads, and the handle tests await on."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .commands import RegisteredCommand
from .errors import StandInUsageError
from .permissions import Perm
from .recording import RecordedFile
from .state import DEFAULT_UPLOAD_LIMIT, Channel, ChannelType, StoredMessage, User

if TYPE_CHECKING:
    from .core import StandInCore

APPLICATION_COMMAND = 2

# Waiting helpers take an explicit ``timeout`` (ASYNC109): tests read as ``await h.response(timeout=2)``.
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# app_permissions Discord reports in a DM with the bot.
_DM_APP_PERMISSIONS = (
    Perm.ATTACH_FILES | Perm.EMBED_LINKS | Perm.MENTION_EVERYONE | Perm.USE_EXTERNAL_EMOJIS
).value


@dataclass
class InteractionResponse:
    """The initial callback the bot sent."""

    type: int
    data: dict[str, Any] | None
    #: Seconds between dispatch and the callback, on the stand-in clock.
    elapsed: float
    at: float
    files: list[RecordedFile] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool((self.data or {}).get("flags", 0) & 64)


@dataclass
class OriginalEdit:
    """One PATCH of ``@original`` (or the deferred-response follow-up that replaced it)."""

    at: float
    payload: dict[str, Any]
    files: list[RecordedFile]
    #: The message right after this edit.
    message: dict[str, Any]


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    created_at: float
    payload: dict[str, Any]
    command: RegisteredCommand | None = None
    #: For autocomplete: the focused option's type.
    focused_type: int | None = None
    #: For component interactions (and modals opened from them): the message clicked.
    source_message_id: int | None = None
    #: For modal submits: the interaction that opened the modal.
    parent: InteractionRecord | None = None
    response: InteractionResponse | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    edits: list[OriginalEdit] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    modal_submitted: bool = False

    @property
    def message_type(self) -> int:
        """Type of messages created with this token: 19 (reply) for components, else 20."""
        return 19 if self.source_message_id is not None else 20

    def metadata(self, user: User, *, original_response_id: int | None = None) -> dict[str, Any]:
        """``interaction_metadata`` for messages created by this interaction."""
        owners = {"0": str(self.guild_id) if self.guild_id is not None else "0"}
        metadata: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "user": user.to_payload(),
            "authorizing_integration_owners": owners,
        }
        if self.command is not None:
            metadata["name"] = self.payload["data"]["name"]
            metadata["command_type"] = self.command.type
        if original_response_id is not None:
            metadata["original_response_message_id"] = str(original_response_id)
        if self.type == MESSAGE_COMPONENT and self.source_message_id is not None:
            metadata["interacted_message_id"] = str(self.source_message_id)
        if self.type == MODAL_SUBMIT and self.parent is not None:
            metadata["triggering_interaction_metadata"] = self.parent.metadata(user)
        return metadata


def make_token(interaction_id: int) -> str:
    """A token shaped like Discord's (base64 of ``interaction:<id>:<random>``)."""
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def create_interaction(
    core: StandInCore,
    *,
    type: int,
    user: User,
    channel: Channel,
    data: dict[str, Any],
    command: RegisteredCommand | None = None,
    focused_type: int | None = None,
    source_message: StoredMessage | None = None,
    parent: InteractionRecord | None = None,
    message_payload: dict[str, Any] | None = None,
) -> InteractionRecord:
    """Build, register and dispatch an INTERACTION_CREATE.

    ``message_payload`` replaces the rendered ``source_message`` in the payload (forged clicks).
    """
    world = core.world
    guild = world.guild_of(channel)
    if not core.hub.live_sessions():
        raise StandInUsageError("no gateway session exists: the bot has not identified with the stand-in")
    interaction_id = world.snowflakes.next()
    token = make_token(interaction_id)
    channel_payload = world.channel_payload(channel)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": type,
        "data": data,
        "channel_id": str(channel.id),
        "channel": channel_payload,
        "token": token,
        "version": 1,
        "locale": user.locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild.id) if guild else "0"},
    }
    if guild is not None:
        member = guild.members[user.id]
        channel_payload["permissions"] = str(world.permissions_for(channel, user.id))
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": guild.locale, "features": []},
            guild_locale=guild.locale,
            member=world.member_payload(member, channel=channel),
            app_permissions=str(world.permissions_for(channel, world.bot.id)),
            context=0,
            attachment_size_limit=guild.upload_limit,
        )
    else:
        payload.update(
            user=user.to_payload(),
            app_permissions=str(_DM_APP_PERMISSIONS),
            context=1 if channel.type == ChannelType.DM else 2,
            attachment_size_limit=DEFAULT_UPLOAD_LIMIT,
        )
    if source_message is not None:
        payload["message"] = message_payload if message_payload is not None else core.render(source_message)
    record = InteractionRecord(
        id=interaction_id,
        token=token,
        type=type,
        user_id=user.id,
        guild_id=guild.id if guild else None,
        channel_id=channel.id,
        created_at=core.clock.now(),
        payload=payload,
        command=command,
        focused_type=focused_type,
        source_message_id=source_message.id if source_message else None,
        parent=parent,
    )
    core.interactions[interaction_id] = record
    core.interactions_by_token[token] = record
    core.hub.dispatch("INTERACTION_CREATE", payload, guild_id=record.guild_id)
    core.changed()
    return record


class InteractionHandle:
    """What a test holds after dispatching an interaction: await the bot's answers here."""

    def __init__(self, core: StandInCore, record: InteractionRecord) -> None:
        self._core = core
        self._record = record

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} responded={self.responded}>"

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def token(self) -> str:
        return self._record.token

    @property
    def type(self) -> int:
        return self._record.type

    @property
    def payload(self) -> dict[str, Any]:
        """The INTERACTION_CREATE data as dispatched."""
        return self._record.payload

    @property
    def responded(self) -> bool:
        return self._record.response is not None

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (callback type 9), if any."""
        return self._record.modal

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """Autocomplete choices (callback type 8), if any."""
        response = self._record.response
        if response is None or response.type != 8:
            return None
        return list((response.data or {}).get("choices", []))

    @property
    def original(self) -> dict[str, Any] | None:
        """Current state of ``@original`` (None before a response or after deletion)."""
        message = self._message(self._record.original_message_id)
        return None if message is None else self._core.render(message)

    @property
    def followups(self) -> list[dict[str, Any]]:
        """Current state of every follow-up message, in creation order (deleted ones omitted)."""
        return [self._core.render(m) for m in map(self._message, self._record.followup_ids) if m is not None]

    @property
    def edits(self) -> list[OriginalEdit]:
        return list(self._record.edits)

    async def response(self, timeout: float = 5.0) -> InteractionResponse:  # noqa: ASYNC109
        """Wait for the initial callback (a timeout lists the bot's rejected attempts, if any)."""
        try:
            return await self._core.recorder.notifier.wait_until(
                lambda: self._record.response, timeout, f"the initial response to interaction {self.id}"
            )
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}{self._attempts(f'/interactions/{self.id}/')}") from None

    async def followup(self, index: int = 0, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until follow-up number ``index`` exists; returns its current state."""

        def probe() -> dict[str, Any] | None:
            if len(self._record.followup_ids) <= index:
                return None
            message = self._core.world.messages[self._record.followup_ids[index]]
            return self._core.render(message)

        try:
            return await self._core.recorder.notifier.wait_until(
                probe, timeout, f"follow-up #{index} of interaction {self.id}"
            )
        except TimeoutError as exc:
            webhook = f"/webhooks/{self._core.world.application_id}/{self.token}"
            raise TimeoutError(f"{exc}{self._attempts(webhook)}") from None

    async def edit(self, index: int = 0, timeout: float = 5.0) -> OriginalEdit:  # noqa: ASYNC109
        """Wait until ``@original`` has been edited ``index + 1`` times; returns that edit."""

        def probe() -> OriginalEdit | None:
            return self._record.edits[index] if len(self._record.edits) > index else None

        return await self._core.recorder.notifier.wait_until(
            probe, timeout, f"edit #{index} of @original of {self.id}"
        )

    async def wait_original(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until the current ``@original`` satisfies ``predicate``."""

        def probe() -> dict[str, Any] | None:
            original = self.original
            return original if original is not None and predicate(original) else None

        return await self._core.recorder.notifier.wait_until(
            probe, timeout, f"@original of {self.id} to match"
        )

    def _attempts(self, path_prefix: str) -> str:
        """Failed requests under ``path_prefix``, rendered for a timeout message."""
        failed = [
            r for r in self._core.recorder.requests if r.path.startswith(path_prefix) and r.status >= 400
        ]
        if not failed:
            return ""
        lines = "".join(f"\n  {r.method} {r.route} -> {r.status} {r.response}" for r in failed)
        return f"; the bot's rejected attempts:{lines}"

    def _message(self, message_id: int | None) -> StoredMessage | None:
        return None if message_id is None else self._core.world.live_message(message_id)
