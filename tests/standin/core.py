"""State shared by the HTTP routes, the gateway and the test-facing facade."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .clock import Clock
from .commands import CommandRegistry
from .gateway import GatewayHub
from .messages import render
from .multipart import UploadedFile
from .recording import Recorder
from .state import DEFAULT_UPLOAD_LIMIT, Channel, Emoji, Guild, StoredMessage, World

if TYPE_CHECKING:
    from .interactions import InteractionRecord

#: Discord rejects whole requests above this size regardless of per-file limits.
REQUEST_SIZE_MAX = 25 * 1024 * 1024
INTERACTION_RESPONSE_WINDOW = 3.0
INTERACTION_TOKEN_LIFETIME = 15 * 60.0


class StandInCore:
    """World + gateway + recorder + registries, and the side effects of changing messages."""

    def __init__(
        self,
        *,
        token: str,
        bot_name: str,
        application_id: int | None,
        heartbeat_interval_ms: int,
        privileged_intents: int,
    ) -> None:
        self.token = token
        self.clock = Clock()
        self.world = World(self.clock, bot_name=bot_name, application_id=application_id)
        self.recorder = Recorder()
        #: Unexpected exceptions inside the stand-in (re-raised when it shuts down).
        self.internal_errors: list[BaseException] = []
        self.hub = GatewayHub(
            self.world,
            self.recorder,
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            privileged_intents=privileged_intents,
            internal_errors=self.internal_errors,
        )
        self.commands = CommandRegistry(self.world)
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}

    def changed(self) -> None:
        self.recorder.notifier.notify()

    # -- message side effects --------------------------------------------------------------------

    def render(self, message: StoredMessage, *, gateway: bool = False) -> dict[str, Any]:
        return render(self.world, message, gateway=gateway)

    def message_created(self, message: StoredMessage) -> None:
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_CREATE", message)
        self.changed()

    def message_updated(self, message: StoredMessage) -> None:
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", message)
        self.changed()

    def message_deleted(self, message: StoredMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self.hub.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id)
        self.changed()

    def _dispatch_message(self, event: str, message: StoredMessage) -> None:
        bot_id = self.world.bot.id
        self.hub.dispatch(
            event,
            self.render(message, gateway=True),
            guild_id=message.guild_id,
            user_content=message.author_id != bot_id,
            mentions_bot=bot_id in message.mention_ids,
        )

    def reaction_event(self, event: str, message: StoredMessage, emoji: Emoji, user_id: int) -> None:
        """MESSAGE_REACTION_ADD/REMOVE with the fields Discord sends."""
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji.to_payload(),
            "burst": False,
            "type": 0,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        if event == "MESSAGE_REACTION_ADD":
            if message.guild_id is not None:
                member = self.world.guilds[message.guild_id].members.get(user_id)
                if member is not None:
                    data["member"] = self.world.member_payload(member)
            data["message_author_id"] = str(message.author_id)
            data["burst_colors"] = []
        self.hub.dispatch(event, data, guild_id=message.guild_id)
        self.changed()

    def channel_event(self, event: str, channel: Channel) -> None:
        self.hub.dispatch(event, self.world.channel_payload(channel), guild_id=channel.guild_id)
        self.changed()

    # -- shared request checks ------------------------------------------------------------------

    def check_upload_size(self, files: tuple[UploadedFile, ...], guild: Guild | None) -> None:
        """413 when a file exceeds the upload limit (per file, as documented) or the request cap."""
        limit = guild.upload_limit if guild is not None else DEFAULT_UPLOAD_LIMIT
        if any(f.size > limit for f in files) or sum(f.size for f in files) > max(limit, REQUEST_SIZE_MAX):
            raise errors.entity_too_large()

    def channel_or_404(self, channel_id: int) -> Channel:
        channel = self.world.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise errors.unknown_channel()
        return channel
