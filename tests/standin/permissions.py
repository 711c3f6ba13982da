"""Discord permission bits and the documented channel-permission algorithm."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntFlag
from typing import Protocol


class Perm(IntFlag):
    """Permission bits as listed in Discord's permissions reference."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SET_VOICE_CHANNEL_STATUS = 1 << 48
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51
    BYPASS_SLOWMODE = 1 << 52


ALL_PERMISSIONS = 0
for _bit in Perm:
    ALL_PERMISSIONS |= _bit.value

#: What a fresh guild's @everyone role grants in the stand-in.
DEFAULT_EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.STREAM
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.SEND_TTS_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CONNECT
    | Perm.SPEAK
    | Perm.USE_VAD
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.USE_EXTERNAL_STICKERS
    | Perm.SEND_VOICE_MESSAGES
    | Perm.SEND_POLLS
    | Perm.USE_EXTERNAL_APPS
).value

#: What the bot's managed integration role grants (a typical bot invite).
DEFAULT_BOT_PERMISSIONS = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.ADD_REACTIONS
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
).value

# Text-only permissions that are meaningless without SEND_MESSAGES (implicit denial).
_NEEDS_SEND = (Perm.SEND_TTS_MESSAGES | Perm.MENTION_EVERYONE | Perm.EMBED_LINKS | Perm.ATTACH_FILES).value


class OverwriteLike(Protocol):
    id: int
    type: int  # 0 role, 1 member
    allow: int
    deny: int


def base_permissions(*, is_owner: bool, everyone_permissions: int, role_permissions: Iterable[int]) -> int:
    """Guild-level permissions of a member (owner and ADMINISTRATOR short-circuit)."""
    if is_owner:
        return ALL_PERMISSIONS
    value = everyone_permissions
    for perms in role_permissions:
        value |= perms
    if value & Perm.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return value


def channel_permissions(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[OverwriteLike],
    text_channel: bool = True,
) -> int:
    """Apply channel overwrites in Discord's documented order, then implicit denials."""
    if base & Perm.ADMINISTRATOR:
        return ALL_PERMISSIONS
    by_target = {(ow.type, ow.id): ow for ow in overwrites}
    value = base
    everyone = by_target.get((0, guild_id))
    if everyone is not None:
        value = (value & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member_role_ids:
        ow = by_target.get((0, role_id))
        if ow is not None:
            allow |= ow.allow
            deny |= ow.deny
    value = (value & ~deny) | allow
    member_ow = by_target.get((1, member_id))
    if member_ow is not None:
        value = (value & ~member_ow.deny) | member_ow.allow
    if not value & Perm.VIEW_CHANNEL:
        return 0
    if text_channel and not value & Perm.SEND_MESSAGES:
        value &= ~_NEEDS_SEND
    return value
