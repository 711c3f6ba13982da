"""Channel routes: messages (create/read/edit/delete), reactions and typing."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web

from . import errors, messages
from .checks import MISSING
from .core import StandInCore
from .httputil import body, json_response, no_content, query_int, snowflake_param
from .messages import parse_emoji
from .permissions import Perm
from .state import Channel, ChannelType, Emoji, StoredMessage
from .validation import ATTACHMENTS_MAX, CHANNEL_CREATE_FLAGS, EDIT_FLAGS, MessageDraft, validate_message


class ChannelRoutes:
    def __init__(self, core: StandInCore) -> None:
        self.core = core
        self.world = core.world

    def routes(self) -> list[web.RouteDef]:
        base = "/channels/{channel_id}"
        message = base + "/messages/{message_id}"
        reaction = message + "/reactions/{emoji}"
        return [
            web.get(base, self.get_channel),
            web.get(base + "/messages", self.list_messages),
            web.post(base + "/messages", self.create_message),
            web.get(message, self.get_message),
            web.patch(message, self.edit_message),
            web.delete(message, self.delete_message),
            web.put(reaction + "/@me", self.add_own_reaction),
            web.delete(reaction + "/@me", self.delete_own_reaction),
            web.delete(reaction + "/{user_id}", self.delete_user_reaction),
            web.get(reaction, self.list_reactions),
            web.delete(reaction, self.clear_emoji_reactions),
            web.delete(message + "/reactions", self.clear_reactions),
            web.post(base + "/typing", self.typing),
        ]

    # -- helpers ------------------------------------------------------------------------------------

    def _bot_perms(self, channel: Channel) -> int:
        if channel.guild_id is None:
            # In DMs every messaging permission is implicitly granted.
            return int(
                Perm.VIEW_CHANNEL
                | Perm.SEND_MESSAGES
                | Perm.EMBED_LINKS
                | Perm.ATTACH_FILES
                | Perm.READ_MESSAGE_HISTORY
                | Perm.ADD_REACTIONS
                | Perm.USE_EXTERNAL_EMOJIS
            )
        return self.world.permissions_for(channel, self.world.bot.id)

    def _visible_channel(self, request: web.Request) -> tuple[Channel, int]:
        channel = self.core.channel_or_404(snowflake_param(request, "channel_id"))
        perms = self._bot_perms(channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise errors.missing_access()
        return channel, perms

    def _channel_message(self, request: web.Request, channel: Channel) -> StoredMessage:
        message = self.world.live_message(snowflake_param(request, "message_id"))
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise errors.unknown_message()
        return message

    def _emoji(self, request: web.Request) -> Emoji:
        emoji = parse_emoji(unquote(request.match_info["emoji"]))
        if emoji.id is not None:
            known = self.world.find_emoji(emoji.id)
            if known is None or known.name != emoji.name:
                raise errors.unknown_emoji()
            emoji = known
        return emoji

    def _existing_names(self, message: StoredMessage) -> dict[int, str]:
        ids = [*message.attachment_ids, *message.embedded_attachment_ids]
        return {a: self.world.attachments[a].filename for a in ids}

    # -- channel + messages ---------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        channel, _ = self._visible_channel(request)
        return json_response(self.world.channel_payload(channel))

    async def list_messages(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        if not perms & Perm.READ_MESSAGE_HISTORY:
            return json_response([])
        limit = query_int(request, "limit", 50, minimum=1, maximum=100)
        visible = [
            m
            for m in (self.world.messages[i] for i in self.world.channel_messages.get(channel.id, []))
            if not m.deleted and not m.ephemeral
        ]
        query = request.query
        if "around" in query:
            around = query_int(request, "around", 0)
            older = [m for m in visible if m.id <= around][-((limit + 1) // 2) :]
            newer = [m for m in visible if m.id > around][: limit - len(older)]
            selected = older + newer
        elif "after" in query:
            after = query_int(request, "after", 0)
            selected = [m for m in visible if m.id > after][:limit]
        else:
            before = query_int(request, "before", 0) if "before" in query else None
            selected = [m for m in visible if before is None or m.id < before][-limit:]
        # Discord always answers newest first.
        return json_response([self.core.render(m) for m in reversed(selected)])

    async def get_message(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        if not perms & Perm.READ_MESSAGE_HISTORY:
            raise errors.missing_access()
        return json_response(self.core.render(self._channel_message(request, channel)))

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.core.channel_or_404(snowflake_param(request, "channel_id"))
        if not channel.is_text:
            raise errors.non_text_channel()
        if channel.type == ChannelType.DM:
            recipient = self.world.users[channel.recipient_ids[0]]
            if not recipient.accepts_dms or not self.world.shares_guild_with_bot(recipient):
                raise errors.cannot_dm_user()
        perms = self._bot_perms(channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise errors.missing_access()
        if not perms & Perm.SEND_MESSAGES:
            raise errors.missing_permissions()
        parsed = body(request)
        self.core.check_upload_size(parsed.files, self.world.guild_of(channel))
        draft = validate_message(
            parsed.payload, parsed.files, mode="create", allowed_flags=CHANNEL_CREATE_FLAGS
        )
        self._apply_channel_permissions(draft, perms)
        if not draft.has_content():
            raise errors.empty_message()
        referenced = self._resolve_reference(channel, draft, perms)
        message = messages.create_message(self.world, channel, self.world.bot, draft, referenced=referenced)
        self.core.message_created(message)
        return json_response(self.core.render(message))

    def _apply_channel_permissions(self, draft: MessageDraft, perms: int) -> None:
        if draft.files and not perms & Perm.ATTACH_FILES:
            raise errors.missing_permissions()
        if draft.embeds not in (MISSING, None) and draft.embeds and not perms & Perm.EMBED_LINKS:
            # Discord silently drops embeds the bot may not post.
            draft.embeds = []
        if draft.tts and not perms & Perm.SEND_TTS_MESSAGES:
            draft.tts = False

    def _resolve_reference(self, channel: Channel, draft: MessageDraft, perms: int) -> StoredMessage | None:
        reference = draft.message_reference
        if reference in (MISSING, None):
            return None
        if not perms & Perm.READ_MESSAGE_HISTORY:
            raise errors.reply_without_history()
        target = self.world.live_message(reference["message_id"])
        same_channel = reference["channel_id"] in (None, channel.id)
        if target is None or target.channel_id != channel.id or target.ephemeral or not same_channel:
            if reference["fail_if_not_exists"] is False:
                return None
            raise errors.invalid_form(
                ["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
        if target.type not in (0, 19, 20, 23):
            raise errors.simple(400, 50021, "Cannot execute action on a system message")
        return target

    async def edit_message(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        if message.author_id != self.world.bot.id:
            raise errors.not_message_author()
        parsed = body(request)
        self.core.check_upload_size(parsed.files, self.world.guild_of(channel))
        draft = validate_message(
            parsed.payload,
            parsed.files,
            mode="edit",
            allowed_flags=EDIT_FLAGS,
            existing_attachments=self._existing_names(message),
        )
        self._apply_channel_permissions(draft, perms)
        apply_checked_edit(self.core, message, draft)
        self.core.message_updated(message)
        return json_response(self.core.render(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        own = message.author_id == self.world.bot.id
        if not own and (channel.guild_id is None or not perms & Perm.MANAGE_MESSAGES):
            raise errors.missing_permissions()
        self.core.message_deleted(message)
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        _, perms = self._visible_channel(request)
        if not perms & Perm.SEND_MESSAGES:
            raise errors.missing_permissions()
        return no_content()

    # -- reactions -------------------------------------------------------------------------------------

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        emoji = self._emoji(request)
        if not perms & Perm.READ_MESSAGE_HISTORY:
            raise errors.missing_permissions()
        if emoji.key not in message.reactions and not perms & Perm.ADD_REACTIONS:
            raise errors.missing_permissions()
        if messages.add_reaction(message, emoji, self.world.bot.id):
            self.core.reaction_event("MESSAGE_REACTION_ADD", message, emoji, self.world.bot.id)
        return no_content()

    async def delete_own_reaction(self, request: web.Request) -> web.Response:
        channel, _ = self._visible_channel(request)
        message = self._channel_message(request, channel)
        emoji = self._emoji(request)
        if messages.remove_reaction(message, emoji, self.world.bot.id):
            self.core.reaction_event("MESSAGE_REACTION_REMOVE", message, emoji, self.world.bot.id)
        return no_content()

    async def delete_user_reaction(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        emoji = self._emoji(request)
        user_id = snowflake_param(request, "user_id")
        if user_id != self.world.bot.id and (channel.guild_id is None or not perms & Perm.MANAGE_MESSAGES):
            raise errors.missing_permissions()
        if messages.remove_reaction(message, emoji, user_id):
            self.core.reaction_event("MESSAGE_REACTION_REMOVE", message, emoji, user_id)
        return no_content()

    async def list_reactions(self, request: web.Request) -> web.Response:
        channel, _ = self._visible_channel(request)
        message = self._channel_message(request, channel)
        emoji = self._emoji(request)
        state = message.reactions.get(emoji.key)
        limit = query_int(request, "limit", 25, minimum=1, maximum=100)
        after = query_int(request, "after", 0)
        users = sorted(uid for uid in (state.user_ids if state else []) if uid > after)[:limit]
        return json_response([self.world.users[uid].to_payload() for uid in users])

    async def clear_emoji_reactions(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        emoji = self._emoji(request)
        if not perms & Perm.MANAGE_MESSAGES:
            raise errors.missing_permissions()
        if message.reactions.pop(emoji.key, None) is not None:
            data = {"channel_id": str(channel.id), "message_id": str(message.id), "emoji": emoji.to_payload()}
            if channel.guild_id is not None:
                data["guild_id"] = str(channel.guild_id)
            self.core.hub.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data, guild_id=channel.guild_id)
            self.core.changed()
        return no_content()

    async def clear_reactions(self, request: web.Request) -> web.Response:
        channel, perms = self._visible_channel(request)
        message = self._channel_message(request, channel)
        if not perms & Perm.MANAGE_MESSAGES:
            raise errors.missing_permissions()
        message.reactions.clear()
        data = {"channel_id": str(channel.id), "message_id": str(message.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.core.hub.dispatch("MESSAGE_REACTION_REMOVE_ALL", data, guild_id=channel.guild_id)
        self.core.changed()
        return no_content()


def apply_checked_edit(
    core: StandInCore,
    message: StoredMessage,
    draft: MessageDraft,
    *,
    default_parse: tuple[str, ...] = ("users", "roles", "everyone"),
) -> None:
    """Apply an edit after checking the result: at most 10 attachments (50035) and not empty (50006)."""
    if draft.attachments in (MISSING, None):
        kept, new = len(message.attachment_ids), len(draft.files)
    else:
        kept = sum(1 for entry in draft.attachments if entry["kind"] == "keep")
        new = sum(1 for entry in draft.attachments if entry["kind"] == "new")
    if kept + new > ATTACHMENTS_MAX:
        raise errors.invalid_form(
            ["attachments"], "BASE_TYPE_MAX_LENGTH", f"Must be {ATTACHMENTS_MAX} or fewer in length."
        )
    content = message.content if draft.content is MISSING else draft.content
    embeds = message.embeds if draft.embeds is MISSING else draft.embeds
    components = message.components if draft.components is MISSING else draft.components
    has_text = bool((content or "").strip())
    if not (has_text or embeds or components or kept or new or message.embedded_attachment_ids):
        raise errors.empty_message()
    messages.edit_message(core.world, message, draft, default_parse=default_parse)
