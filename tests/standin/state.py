"""The stand-in's world: users, guilds, roles, channels, members, messages and attachments.

Entities are plain dataclasses; ``World`` owns them, computes permissions and renders
them as Discord payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from urllib.parse import quote

from .clock import Clock, SnowflakeFactory
from .permissions import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    base_permissions,
    channel_permissions,
)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class ChannelType(IntEnum):
    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GROUP_DM = 3
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5


# Channel types whose message endpoints work (voice channels have a text chat).
TEXT_CAPABLE = {
    ChannelType.GUILD_TEXT,
    ChannelType.DM,
    ChannelType.GUILD_VOICE,
    ChannelType.GUILD_ANNOUNCEMENT,
}


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    #: Whether this user accepts DMs from the bot (else 50007).
    accepts_dms: bool = True
    locale: str = "en-US"

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    id: int
    type: ChannelType
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None
    deleted: bool = False

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_CAPABLE

    def overwrite_for(self, target_type: int, target_id: int) -> Overwrite:
        """The overwrite for a role/member, created empty when missing."""
        for ow in self.overwrites:
            if ow.type == target_type and ow.id == target_id:
                return ow
        ow = Overwrite(id=target_id, type=target_type)
        self.overwrites.append(ow)
        return ow


@dataclass(frozen=True)
class Emoji:
    """An emoji: unicode (``id is None``) or a guild's custom emoji."""

    name: str
    id: int | None = None
    animated: bool = False

    @property
    def key(self) -> str:
        return str(self.id) if self.id is not None else self.name

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": None if self.id is None else str(self.id), "name": self.name}
        if self.id is not None and self.animated:
            payload["animated"] = True
        return payload

    def guild_payload(self) -> dict[str, Any]:
        """The full emoji object as listed in a guild."""
        return {
            "id": str(self.id),
            "name": self.name,
            "roles": [],
            "require_colons": True,
            "managed": False,
            "animated": self.animated,
            "available": True,
        }


@dataclass
class Member:
    user_id: int
    guild_id: int
    role_ids: list[int]
    joined_at: str
    nick: str | None = None


@dataclass
class VoiceState:
    """Someone in a voice channel (users of a test, or the bot after its op 4)."""

    user_id: int
    channel_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False

    def to_payload(self, guild_id: int) -> dict[str, Any]:
        return {
            "guild_id": str(guild_id),
            "channel_id": str(self.channel_id),
            "user_id": str(self.user_id),
            "session_id": self.session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": self.self_deaf,
            "self_mute": self.self_mute,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    joined_at: str
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    locale: str = "en-US"
    bot_role_id: int | None = None
    emojis: dict[int, Emoji] = field(default_factory=dict)
    #: user id → where that user sits in voice.
    voice_states: dict[int, VoiceState] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass
class Attachment:
    id: int
    channel_id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None
    title: str | None = None
    flags: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def url(self, base_url: str) -> str:
        return f"{base_url}/attachments/{self.channel_id}/{self.id}/{quote(self.filename)}"

    def proxy_url(self, base_url: str) -> str:
        return f"{base_url}/media/attachments/{self.channel_id}/{self.id}/{quote(self.filename)}"

    def to_payload(self, base_url: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url(base_url),
            "proxy_url": self.proxy_url(base_url),
            "content_type": self.content_type,
        }
        if self.description is not None:
            payload["description"] = self.description
        if self.title is not None:
            payload["title"] = self.title
        if self.flags:
            payload["flags"] = self.flags
        return payload


@dataclass
class ReactionState:
    emoji: dict[str, Any]
    user_ids: list[int] = field(default_factory=list)


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    timestamp: str
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachment_ids: list[int] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    edited_timestamp: str | None = None
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reactions: dict[str, ReactionState] = field(default_factory=dict)
    pinned: bool = False
    message_reference: dict[str, Any] | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None
    nonce: str | int | None = None
    #: The interaction whose token created this message, if any.
    interaction_id: int | None = None
    #: Uploads referenced by embeds (``attachment://``): Discord hides them from ``attachments``.
    embedded_attachment_ids: list[int] = field(default_factory=list)
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


class World:
    """All entities of the stand-in plus the payload renderers that need cross-references."""

    def __init__(self, clock: Clock, *, bot_name: str, application_id: int | None) -> None:
        self.clock = clock
        self.snowflakes = SnowflakeFactory(clock)
        self.base_url = ""
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.attachments: dict[int, Attachment] = {}
        self.dm_channels: dict[int, int] = {}
        self.bot = self.make_user(bot_name, bot=True)
        self.application_id = application_id if application_id is not None else self.bot.id
        self.owner = self.make_user(f"{bot_name}-owner")

    # -- creation -----------------------------------------------------------------

    def make_user(self, name: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(id=self.snowflakes.next(), username=name, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
        text_channels: tuple[str, ...] = ("general",),
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        owner = owner or self.owner
        guild_id = self.snowflakes.next() if shard is None else self.snowflakes.next_on_shard(*shard)
        guild = Guild(
            id=guild_id, name=name, owner_id=owner.id, joined_at=self.clock.iso(), upload_limit=upload_limit
        )
        guild.roles[guild_id] = Role(
            id=guild_id, guild_id=guild_id, name="@everyone", permissions=everyone_permissions
        )
        bot_role = Role(
            id=self.snowflakes.next(),
            guild_id=guild_id,
            name=self.bot.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.bot_role_id = bot_role.id
        self.guilds[guild_id] = guild
        self.add_member(guild, owner)
        self.add_member(guild, self.bot, role_ids=[bot_role.id])
        for channel_name in text_channels:
            self.add_channel(guild, channel_name)
        return guild

    def add_member(self, guild: Guild, user: User, *, role_ids: list[int] | None = None) -> Member:
        member = Member(
            user_id=user.id, guild_id=guild.id, role_ids=list(role_ids or []), joined_at=self.clock.iso()
        )
        guild.members[user.id] = member
        return member

    def add_role(self, guild: Guild, name: str, permissions: int, *, mentionable: bool = False) -> Role:
        position = max(role.position for role in guild.roles.values()) + 1
        role = Role(
            id=self.snowflakes.next(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=position,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: ChannelType = ChannelType.GUILD_TEXT,
        topic: str | None = None,
        parent_id: int | None = None,
    ) -> Channel:
        channel = Channel(
            id=self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=len(guild.channel_ids),
            topic=topic,
            parent_id=parent_id,
        )
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        guild.channel_ids.append(channel.id)
        return channel

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with a user (created on first use, like Discord)."""
        channel_id = self.dm_channels.get(user.id)
        if channel_id is not None:
            return self.channels[channel_id]
        channel = Channel(id=self.snowflakes.next(), type=ChannelType.DM, recipient_ids=[user.id])
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        self.dm_channels[user.id] = channel.id
        return channel

    # -- lookups --------------------------------------------------------------------

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id is not None else None

    def find_emoji(self, emoji_id: int) -> Emoji | None:
        """A custom emoji from any guild the bot is in."""
        for guild in self.guilds.values():
            if emoji_id in guild.emojis and self.bot.id in guild.members:
                return guild.emojis[emoji_id]
        return None

    def shares_guild_with_bot(self, user: User) -> bool:
        return any(
            user.id in guild.members and self.bot.id in guild.members for guild in self.guilds.values()
        )

    def live_message(self, message_id: int) -> StoredMessage | None:
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    # -- permissions ---------------------------------------------------------------------

    def guild_permissions(self, guild: Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return base_permissions(
            is_owner=user_id == guild.owner_id,
            everyone_permissions=guild.everyone.permissions,
            role_permissions=[guild.roles[r].permissions for r in member.role_ids if r in guild.roles],
        )

    def permissions_for(self, channel: Channel, user_id: int) -> int:
        """Effective permissions of a user in a guild channel (0 when not a member)."""
        guild = self.guild_of(channel)
        if guild is None:
            return 0
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return channel_permissions(
            self.guild_permissions(guild, user_id),
            guild_id=guild.id,
            member_id=user_id,
            member_role_ids=member.role_ids,
            overwrites=channel.overwrites,
            text_channel=channel.type != ChannelType.GUILD_CATEGORY,
        )

    # -- payloads ---------------------------------------------------------------------------

    def member_payload(
        self, member: Member, *, with_user: bool = True, channel: Channel | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "roles": [str(r) for r in member.role_ids],
            "joined_at": member.joined_at,
            "premium_since": None,
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.users[member.user_id].to_payload()
        if channel is not None:
            payload["permissions"] = str(self.permissions_for(channel, member.user_id))
        return payload

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        if channel.type == ChannelType.DM:
            return {
                "id": str(channel.id),
                "type": int(channel.type),
                "last_message_id": _opt_str(channel.last_message_id),
                "flags": 0,
                "recipients": [self.users[uid].to_payload() for uid in channel.recipient_ids],
            }
        payload: dict[str, Any] = {
            "id": str(channel.id),
            "type": int(channel.type),
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [ow.to_payload() for ow in channel.overwrites],
            "nsfw": channel.nsfw,
            "parent_id": _opt_str(channel.parent_id),
            "flags": 0,
        }
        if channel.type != ChannelType.GUILD_CATEGORY:
            payload.update(
                topic=channel.topic,
                last_message_id=_opt_str(channel.last_message_id),
                rate_limit_per_user=0,
                last_pin_timestamp=None,
            )
        if channel.type == ChannelType.GUILD_VOICE:
            payload.update(bitrate=64000, user_limit=0, rtc_region=None)
        return payload

    def guild_payload(
        self, guild: Guild, *, gateway: bool = False, members: list[Member] | None = None
    ) -> dict[str, Any]:
        """A guild object; with ``gateway`` the GUILD_CREATE extra fields are included."""
        payload: dict[str, Any] = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [role.to_payload() for role in guild.roles.values()],
            "emojis": [emoji.guild_payload() for emoji in guild.emojis.values()],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
        }
        if gateway:
            channels = [self.channels[cid] for cid in guild.channel_ids if not self.channels[cid].deleted]
            listed = list(members if members is not None else guild.members.values())
            # Discord always lists the members sitting in voice, whatever the intents.
            listed += [
                guild.members[uid]
                for uid in guild.voice_states
                if uid in guild.members and guild.members[uid] not in listed
            ]
            payload.update(
                joined_at=guild.members[self.bot.id].joined_at,
                large=len(guild.members) >= 250,
                unavailable=False,
                member_count=len(guild.members),
                voice_states=[state.to_payload(guild.id) for state in guild.voice_states.values()],
                members=[self.member_payload(m) for m in listed],
                channels=[self.channel_payload(c) for c in channels],
                threads=[],
                presences=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return payload


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)
