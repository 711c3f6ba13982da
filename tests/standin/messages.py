"""Turning validated drafts into stored messages, editing them, and rendering Message objects."""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from . import errors
from .checks import MISSING
from .permissions import Perm
from .state import LOADING, Attachment, Channel, Emoji, ReactionState, StoredMessage, User, World
from .validation import IS_COMPONENTS_V2, SUPPRESS_EMBEDS, MessageDraft

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)")
_CUSTOM_EMOJI = re.compile(r"^<?(a)?:?([A-Za-z0-9_]{2,32}):(\d+)>?$")
_SPOILER_FLAG = 1 << 3


def parse_emoji(text: str) -> Emoji:
    """Parse a route/helper emoji (``🔥``, ``name:id``, ``<a:name:id>``); 10014 when invalid."""
    match = _CUSTOM_EMOJI.match(text)
    if match:
        return Emoji(name=match.group(2), id=int(match.group(3)), animated=bool(match.group(1)))
    if not text or not _looks_like_unicode_emoji(text):
        raise errors.unknown_emoji()
    return Emoji(name=text)


def _looks_like_unicode_emoji(text: str) -> bool:
    # Emoji are symbols (So/Sk) possibly combined with joiners, variation selectors,
    # skin-tone modifiers, keycap marks or regional indicators; letters are not.
    has_symbol = False
    for char in text:
        point = ord(char)
        category = unicodedata.category(char)
        if category in ("So", "Sk") or 0x1F1E6 <= point <= 0x1F1FF:
            has_symbol = True
        elif point in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0xE0020 <= point <= 0xE007F:
            continue
        elif char in "0123456789#*" and "\u20e3" in text:
            continue
        else:
            return False
    return has_symbol or "\u20e3" in text


# -- creating and editing ------------------------------------------------------------------------


def store_files(world: World, channel: Channel, draft: MessageDraft) -> dict[int, Attachment]:
    """Persist the request's uploads; returns them by their ``files[n]`` index."""
    stored: dict[int, Attachment] = {}
    for upload in draft.files:
        attachment = Attachment(
            id=world.snowflakes.next(),
            channel_id=channel.id,
            filename=upload.filename,
            content_type=upload.detected_content_type,
            data=upload.data,
            flags=_SPOILER_FLAG if upload.filename.startswith("SPOILER_") else 0,
        )
        world.attachments[attachment.id] = attachment
        stored[upload.index] = attachment
    return stored


def _attachment_list(
    world: World, draft: MessageDraft, uploads: dict[int, Attachment], current: list[int], *, edit: bool
) -> list[int]:
    if draft.attachments is MISSING or draft.attachments is None:
        # Create: every upload. Edit without ``attachments``: uploads are appended.
        return [*(current if edit else []), *(a.id for a in uploads.values())]
    result: list[int] = []
    listed_new: set[int] = set()
    for entry in draft.attachments:
        if entry["kind"] == "keep":
            attachment = world.attachments[entry["ref"]]
        else:
            attachment = uploads[entry["ref"]]
            listed_new.add(entry["ref"])
            attachment.filename = entry["filename"]
        if entry["description"] is not None:
            attachment.description = entry["description"]
        if entry["title"] is not None:
            attachment.title = entry["title"]
        if entry["spoiler"] is not None:
            attachment.flags = (
                (attachment.flags | _SPOILER_FLAG) if entry["spoiler"] else attachment.flags & ~_SPOILER_FLAG
            )
        result.append(attachment.id)
    if not edit:
        # On create, uploads missing from ``attachments`` are still attached.
        result.extend(a.id for index, a in uploads.items() if index not in listed_new)
    return result


def create_message(
    world: World,
    channel: Channel,
    author: User,
    draft: MessageDraft,
    *,
    message_type: int = 0,
    flags: int = 0,
    default_parse: tuple[str, ...] = ("users", "roles", "everyone"),
    referenced: StoredMessage | None = None,
    extra: dict[str, Any] | None = None,
) -> StoredMessage:
    """Store a new message built from a validated draft."""
    uploads = store_files(world, channel, draft)
    message = StoredMessage(
        id=world.snowflakes.next(),
        channel_id=channel.id,
        guild_id=channel.guild_id,
        author_id=author.id,
        timestamp=world.clock.iso(),
        content=draft.content if isinstance(draft.content, str) else "",
        embeds=copy.deepcopy(draft.embeds or []) if draft.embeds is not MISSING else [],
        components=copy.deepcopy(draft.components or []) if draft.components is not MISSING else [],
        attachment_ids=_attachment_list(world, draft, uploads, [], edit=False),
        flags=flags | (draft.flags if isinstance(draft.flags, int) else 0),
        type=message_type,
        tts=draft.tts,
        nonce=draft.nonce if draft.nonce is not MISSING else None,
    )
    if referenced is not None:
        message.type = 19 if message_type == 0 else message_type
        message.message_reference = {
            "type": 0,
            "message_id": str(referenced.id),
            "channel_id": str(referenced.channel_id),
            **({"guild_id": str(referenced.guild_id)} if referenced.guild_id else {}),
        }
    for key, value in (extra or {}).items():
        setattr(message, key, value)
    assign_component_ids(message.components)
    _finish_embeds(world, message)
    compute_mentions(world, message, draft.allowed_mentions, default_parse, referenced)
    world.messages[message.id] = message
    world.channel_messages.setdefault(channel.id, []).append(message.id)
    if not message.ephemeral:
        channel.last_message_id = message.id
    return message


def edit_message(
    world: World,
    message: StoredMessage,
    draft: MessageDraft,
    *,
    default_parse: tuple[str, ...] = ("users", "roles", "everyone"),
    mark_edited: bool = True,
) -> None:
    """Apply PATCH semantics: omitted fields stay, ``attachments`` lists what to keep."""
    channel = world.channels[message.channel_id]
    uploads = store_files(world, channel, draft)
    if draft.content is not MISSING:
        message.content = draft.content or ""
    if draft.embeds is not MISSING:
        message.embeds = copy.deepcopy(draft.embeds or [])
    if draft.components is not MISSING:
        message.components = copy.deepcopy(draft.components or [])
        assign_component_ids(message.components)
    if draft.flags is not MISSING and draft.flags is not None:
        # Only SUPPRESS_EMBEDS can be toggled and IS_COMPONENTS_V2 added; the rest (e.g. EPHEMERAL) stays.
        message.flags = (message.flags & ~SUPPRESS_EMBEDS) | (
            draft.flags & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2)
        )
    message.attachment_ids = _attachment_list(world, draft, uploads, message.attachment_ids, edit=True)
    was_loading = bool(message.flags & LOADING)
    message.flags &= ~LOADING
    if mark_edited and not was_loading:
        message.edited_timestamp = world.clock.iso()
    _finish_embeds(world, message)
    if draft.content is not MISSING or draft.allowed_mentions is not MISSING:
        referenced = None
        if message.message_reference:
            referenced = world.messages.get(int(message.message_reference["message_id"]))
        compute_mentions(world, message, draft.allowed_mentions, default_parse, referenced)


def walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component in document order, descending into rows, sections, containers and labels."""
    found: list[dict[str, Any]] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        found.append(component)
        found.extend(walk_components(component.get("components") or []))
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                found.extend(walk_components([component[key]]))
    return found


def assign_component_ids(components: list[dict[str, Any]]) -> None:
    """Give components without an ``id`` sequential ones, skipping ids already used (as Discord does)."""
    every = walk_components(components)
    used = {c["id"] for c in every if isinstance(c.get("id"), int)}
    next_id = 1
    for component in every:
        if "id" in component and component["id"] is not None:
            continue
        while next_id in used:
            next_id += 1
        component["id"] = next_id
        used.add(next_id)


def _finish_embeds(world: World, message: StoredMessage) -> None:
    """Resolve ``attachment://`` references; referenced files move out of ``attachments``."""
    known = [*message.embedded_attachment_ids, *message.attachment_ids]
    by_name = {world.attachments[a].filename: world.attachments[a] for a in known}
    used: set[int] = set()

    def resolve(url: str) -> dict[str, str]:
        if url.startswith("attachment://"):
            attachment = by_name[url[len("attachment://") :]]
            used.add(attachment.id)
            return {"url": attachment.url(world.base_url), "proxy_url": attachment.proxy_url(world.base_url)}
        return {"url": url, "proxy_url": url}

    for embed in message.embeds:
        for key in ("image", "thumbnail"):
            if key in embed and "proxy_url" not in embed[key]:
                embed[key] = {**embed[key], **resolve(embed[key]["url"])}
        for key in ("footer", "author"):
            icon = embed.get(key, {}).get("icon_url")
            if icon and "proxy_icon_url" not in embed[key]:
                resolved = resolve(icon)
                embed[key] = {
                    **embed[key],
                    "icon_url": resolved["url"],
                    "proxy_icon_url": resolved["proxy_url"],
                }
    if used:
        message.attachment_ids = [a for a in message.attachment_ids if a not in used]
        message.embedded_attachment_ids = sorted(set(message.embedded_attachment_ids) | used)


def compute_mentions(
    world: World,
    message: StoredMessage,
    allowed: Any,
    default_parse: tuple[str, ...],
    referenced: StoredMessage | None,
) -> None:
    """Rebuild ``mentions``/``mention_roles``/``mention_everyone`` from content + allowed_mentions."""
    if allowed is MISSING or allowed is None:
        parse, users, roles, replied = set(default_parse), None, None, True
    else:
        parse = set(allowed.get("parse", []))
        users, roles = allowed.get("users"), allowed.get("roles")
        replied = bool(allowed.get("replied_user", False))
    guild = world.guilds.get(message.guild_id) if message.guild_id else None
    channel = world.channels[message.channel_id]
    content = message.content
    mention_ids: list[int] = []
    for raw in _USER_MENTION.findall(content):
        user_id = int(raw)
        if (
            user_id in world.users
            and ("users" in parse or (users and user_id in users))
            and user_id not in mention_ids
        ):
            mention_ids.append(user_id)
    # Replying pings the referenced author (never yourself) unless allowed_mentions says otherwise.
    if (
        referenced is not None
        and replied
        and referenced.author_id != message.author_id
        and referenced.author_id not in mention_ids
    ):
        mention_ids.append(referenced.author_id)
    can_everyone = guild is None or bool(
        world.permissions_for(channel, message.author_id) & Perm.MENTION_EVERYONE
    )
    role_ids: list[int] = []
    if guild is not None:
        for raw in _ROLE_MENTION.findall(content):
            role = guild.roles.get(int(raw))
            if role is None or role.id in role_ids:
                continue
            if ("roles" in parse or (roles and role.id in roles)) and (role.mentionable or can_everyone):
                role_ids.append(role.id)
    message.mention_ids = mention_ids
    message.mention_role_ids = role_ids
    message.mention_everyone = bool(_EVERYONE.search(content)) and "everyone" in parse and can_everyone


# -- reactions -------------------------------------------------------------------------------------


def add_reaction(message: StoredMessage, emoji: Emoji, user_id: int) -> bool:
    """Record a reaction; False when the user had already reacted with this emoji."""
    state = message.reactions.get(emoji.key)
    if state is None:
        if len(message.reactions) >= 20:
            raise errors.max_reactions()
        state = message.reactions[emoji.key] = ReactionState(emoji=emoji.to_payload())
    if user_id in state.user_ids:
        return False
    state.user_ids.append(user_id)
    return True


def remove_reaction(message: StoredMessage, emoji: Emoji, user_id: int) -> bool:
    state = message.reactions.get(emoji.key)
    if state is None or user_id not in state.user_ids:
        return False
    state.user_ids.remove(user_id)
    if not state.user_ids:
        del message.reactions[emoji.key]
    return True


# -- rendering -----------------------------------------------------------------------------------------


def render(world: World, message: StoredMessage, *, gateway: bool = False, depth: int = 0) -> dict[str, Any]:
    """A Discord Message object (``gateway`` adds the MESSAGE_CREATE extra fields)."""
    author = world.users[message.author_id]
    payload: dict[str, Any] = {
        "id": str(message.id),
        "type": message.type,
        "channel_id": str(message.channel_id),
        "author": author.to_payload(),
        "content": message.content,
        "timestamp": message.timestamp,
        "edited_timestamp": message.edited_timestamp,
        "tts": message.tts,
        "mention_everyone": message.mention_everyone,
        "mentions": [world.users[uid].to_payload() for uid in message.mention_ids],
        "mention_roles": [str(r) for r in message.mention_role_ids],
        "attachments": [world.attachments[a].to_payload(world.base_url) for a in message.attachment_ids],
        "embeds": [] if message.flags & SUPPRESS_EMBEDS else copy.deepcopy(message.embeds),
        "pinned": message.pinned,
        "flags": message.flags,
        "components": copy.deepcopy(message.components),
    }
    if message.reactions:
        payload["reactions"] = [
            {
                "count": len(state.user_ids),
                "count_details": {"burst": 0, "normal": len(state.user_ids)},
                "me": world.bot.id in state.user_ids,
                "me_burst": False,
                "emoji": dict(state.emoji),
                "burst_colors": [],
            }
            for state in message.reactions.values()
        ]
    if message.nonce is not None:
        payload["nonce"] = message.nonce
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
    if message.application_id is not None:
        payload["application_id"] = str(message.application_id)
    if message.interaction_metadata is not None:
        payload["interaction_metadata"] = copy.deepcopy(message.interaction_metadata)
    if message.interaction is not None:
        payload["interaction"] = copy.deepcopy(message.interaction)
    if message.message_reference is not None:
        payload["message_reference"] = dict(message.message_reference)
        if message.type == 19 and depth == 0:
            referenced = world.live_message(int(message.message_reference["message_id"]))
            payload["referenced_message"] = None if referenced is None else render(world, referenced, depth=1)
    if gateway:
        channel = world.channels[message.channel_id]
        payload["channel_type"] = int(channel.type)
        if message.guild_id is not None:
            payload["guild_id"] = str(message.guild_id)
            guild = world.guilds[message.guild_id]
            member = guild.members.get(message.author_id)
            if member is not None and message.webhook_id is None:
                payload["member"] = world.member_payload(member, with_user=False)
    return payload
