"""Message, embed, component, modal and autocomplete payload validation per Discord's docs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import checks, errors
from .checks import MISSING, Path
from .errors import FormErrors
from .multipart import UploadedFile

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
ATTACHMENTS_MAX = 10

SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_VOICE_MESSAGE = 1 << 13
IS_COMPONENTS_V2 = 1 << 15

#: Flags a bot may set when creating a channel message.
CHANNEL_CREATE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
#: Flags allowed on edits.
EDIT_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2
#: Flags allowed on interaction responses and follow-ups.
INTERACTION_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2

BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
SELECT_TYPES = {3, 5, 6, 7, 8}
ACTION_ROW = 1
SECTION = 9
TEXT_DISPLAY = 10
THUMBNAIL = 11
MEDIA_GALLERY = 12
FILE = 13
SEPARATOR = 14
CONTAINER = 17
LABEL = 18
FILE_UPLOAD = 19

_V2_TOP_LEVEL = {ACTION_ROW, SECTION, TEXT_DISPLAY, MEDIA_GALLERY, FILE, SEPARATOR, CONTAINER}
_CONTAINER_CHILDREN = {ACTION_ROW, SECTION, TEXT_DISPLAY, MEDIA_GALLERY, FILE, SEPARATOR}


@dataclass
class MessageDraft:
    """A validated message body; fields are ``MISSING`` when the request omitted them."""

    content: Any = MISSING
    embeds: Any = MISSING
    components: Any = MISSING
    flags: Any = MISSING
    tts: bool = False
    allowed_mentions: Any = MISSING
    message_reference: Any = MISSING
    attachments: Any = MISSING
    nonce: Any = MISSING
    sticker_ids: list[int] = field(default_factory=list)
    files: tuple[UploadedFile, ...] = ()
    #: Names usable as ``attachment://name`` (new files plus kept attachments).
    attachment_names: set[str] = field(default_factory=set)

    def has_content(self) -> bool:
        """Whether the body would produce a non-empty message."""
        # Whitespace-only content counts as empty, as on Discord.
        return bool(
            (isinstance(self.content, str) and self.content.strip())
            or (self.embeds not in (MISSING, None) and self.embeds)
            or (self.components not in (MISSING, None) and self.components)
            or self.files
            or self.sticker_ids
        )


def validate_message(
    payload: Any,
    files: Sequence[UploadedFile],
    *,
    mode: Literal["create", "edit"],
    allowed_flags: int,
    path: Path = (),
    existing_attachments: dict[int, str] | None = None,
) -> MessageDraft:
    """Validate a create/edit message body and its uploaded files; raises 50035 on failure.

    ``existing_attachments`` maps the ids of attachments already on the message (edits)
    to their filenames.
    """
    form = FormErrors()
    if payload is None:
        payload = {}
    body = checks.dictionary(form, path, payload)
    form.raise_if_any()
    assert body is not None
    draft = MessageDraft(files=tuple(files))
    if "poll" in body and body["poll"] is not None:
        raise errors.DiscordHTTPError(400, 0, "The Discord stand-in does not emulate polls")

    if "content" in body:
        draft.content = checks.string(form, (*path, "content"), body["content"], max_len=CONTENT_MAX)
    draft.tts = bool(checks.boolean(form, (*path, "tts"), body.get("tts")))
    if "nonce" in body and body["nonce"] is not None:
        nonce = body["nonce"]
        if isinstance(nonce, str):
            draft.nonce = checks.string(form, (*path, "nonce"), nonce, max_len=25)
        else:
            draft.nonce = checks.integer(form, (*path, "nonce"), nonce)
    if "flags" in body and body["flags"] is not None:
        flags = checks.integer(form, (*path, "flags"), body["flags"], minimum=0)
        if flags is not None and flags & ~allowed_flags:
            form.add(
                (*path, "flags"),
                "MESSAGE_FLAGS_INVALID",
                f"Flags {flags & ~allowed_flags} cannot be set here.",
            )
        draft.flags = flags
    stickers = checks.array(form, (*path, "sticker_ids"), body.get("sticker_ids"), max_len=3)
    for index, sticker in enumerate(stickers or []):
        sticker_id = checks.snowflake(form, (*path, "sticker_ids", index), sticker)
        if sticker_id is not None:
            draft.sticker_ids.append(sticker_id)

    _validate_attachments(form, path, body, draft, mode, existing_attachments or {})
    if "embeds" in body:
        draft.embeds = validate_embeds(form, (*path, "embeds"), body["embeds"], draft.attachment_names)
    if "components" in body:
        v2 = bool(draft.flags not in (MISSING, None) and draft.flags & IS_COMPONENTS_V2)
        draft.components = validate_message_components(form, (*path, "components"), body["components"], v2=v2)
    if "allowed_mentions" in body:
        draft.allowed_mentions = validate_allowed_mentions(
            form, (*path, "allowed_mentions"), body["allowed_mentions"]
        )
    if "message_reference" in body and body["message_reference"] is not None:
        if mode == "edit":
            form.add(
                (*path, "message_reference"),
                "MESSAGE_REFERENCE_IMMUTABLE",
                "Message references cannot be edited.",
            )
        else:
            draft.message_reference = _validate_reference(
                form, (*path, "message_reference"), body["message_reference"]
            )

    if draft.flags not in (MISSING, None) and draft.flags & IS_COMPONENTS_V2:
        legacy = [
            name
            for name in ("content", "embeds", "sticker_ids")
            if body.get(name) not in (None, "", [], MISSING) and name in body
        ]
        if legacy:
            form.add(
                path,
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content', 'embeds', 'sticker_ids' and 'poll' fields cannot be used when using"
                " MessageFlags.IS_COMPONENTS_V2",
            )
    form.raise_if_any()
    return draft


def _validate_attachments(
    form: FormErrors,
    path: Path,
    body: dict[str, Any],
    draft: MessageDraft,
    mode: str,
    existing: dict[int, str],
) -> None:
    file_names = {f.index: f.filename for f in draft.files}
    if len(draft.files) > ATTACHMENTS_MAX:
        form.add((*path, "files"), "BASE_TYPE_MAX_LENGTH", f"Must be {ATTACHMENTS_MAX} or fewer in length.")
    entries = checks.array(form, (*path, "attachments"), body.get("attachments"), max_len=ATTACHMENTS_MAX)
    if entries is None:
        draft.attachment_names = set(file_names.values())
        if mode == "edit" and "attachments" not in body:
            draft.attachment_names |= set(existing.values())
        return
    normalized: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        entry_path = (*path, "attachments", index)
        item = checks.dictionary(form, entry_path, entry)
        if item is None:
            continue
        if "id" not in item:
            checks.required(form, (*entry_path, "id"))
            continue
        ref = checks.snowflake(form, (*entry_path, "id"), item["id"])
        if ref is None:
            continue
        # Small numbers are ``files[n]`` placeholders; anything else must be a kept attachment.
        if ref in file_names:
            kind = "new"
            name = (
                checks.string(form, (*entry_path, "filename"), item.get("filename"), max_len=1024)
                or file_names[ref]
            )
        elif ref in existing:
            kind = "keep"
            name = existing[ref]
        else:
            form.add(
                (*entry_path, "id"),
                "ATTACHMENT_NOT_FOUND",
                f"Attachment {ref} does not exist or was not uploaded.",
            )
            continue
        description = checks.string(form, (*entry_path, "description"), item.get("description"), max_len=1024)
        title = checks.string(form, (*entry_path, "title"), item.get("title"), max_len=1024)
        spoiler = checks.boolean(form, (*entry_path, "is_spoiler"), item.get("is_spoiler"))
        normalized.append(
            {
                "kind": kind,
                "ref": ref,
                "filename": name,
                "description": description,
                "title": title,
                "spoiler": spoiler,
            }
        )
        draft.attachment_names.add(name)
    if mode == "create":
        # Files not described in ``attachments`` are still attached on create.
        draft.attachment_names |= set(file_names.values())
    draft.attachments = normalized


def validate_embeds(
    form: FormErrors, path: Path, value: Any, attachment_names: set[str]
) -> list[dict[str, Any]] | None:
    embeds = checks.array(form, path, value, max_len=EMBEDS_MAX)
    if embeds is None:
        return None if value is None else []
    normalized = []
    total = 0
    for index, embed in enumerate(embeds):
        result = _validate_embed(form, (*path, index), embed, attachment_names)
        if result is not None:
            normalized.append(result[0])
            total += result[1]
    if total > EMBED_TOTAL_MAX:
        form.add(path, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")
    return normalized


def _validate_embed(
    form: FormErrors, path: Path, value: Any, attachment_names: set[str]
) -> tuple[dict[str, Any], int] | None:
    embed = checks.dictionary(form, path, value)
    if embed is None:
        return None
    out: dict[str, Any] = {"type": "rich"}
    size = 0
    # Discord trims leading/trailing whitespace before measuring lengths.
    title = checks.string(form, (*path, "title"), embed.get("title"), max_len=256, strip=True)
    if title:
        out["title"] = title
        size += len(title)
    description = checks.string(
        form, (*path, "description"), embed.get("description"), max_len=4096, strip=True
    )
    if description:
        out["description"] = description
        size += len(description)
    embed_url = checks.url(form, (*path, "url"), embed.get("url"))
    if embed_url:
        out["url"] = embed_url
    stamp = checks.timestamp(form, (*path, "timestamp"), embed.get("timestamp"))
    if stamp:
        out["timestamp"] = stamp
    color = checks.integer(form, (*path, "color"), embed.get("color"), minimum=0, maximum=0xFFFFFF)
    if color is not None:
        out["color"] = color
    footer = checks.dictionary(form, (*path, "footer"), embed.get("footer"))
    if footer is not None:
        text = checks.required_string(
            form, (*path, "footer", "text"), footer.get("text"), max_len=2048, strip=True
        )
        icon = checks.url(
            form, (*path, "footer", "icon_url"), footer.get("icon_url"), attachment_names=attachment_names
        )
        if text:
            out["footer"] = {"text": text, **({"icon_url": icon} if icon else {})}
            size += len(text)
    for key in ("image", "thumbnail"):
        media = checks.dictionary(form, (*path, key), embed.get(key))
        if media is None:
            continue
        if media.get("url") in (None, ""):
            checks.required(form, (*path, key, "url"))
            continue
        media_url = checks.url(form, (*path, key, "url"), media.get("url"), attachment_names=attachment_names)
        if media_url:
            out[key] = {"url": media_url}
    author = checks.dictionary(form, (*path, "author"), embed.get("author"))
    if author is not None:
        name = checks.required_string(
            form, (*path, "author", "name"), author.get("name"), max_len=256, strip=True
        )
        author_url = checks.url(form, (*path, "author", "url"), author.get("url"))
        icon = checks.url(
            form, (*path, "author", "icon_url"), author.get("icon_url"), attachment_names=attachment_names
        )
        if name:
            out["author"] = {
                "name": name,
                **({"url": author_url} if author_url else {}),
                **({"icon_url": icon} if icon else {}),
            }
            size += len(name)
    fields = checks.array(form, (*path, "fields"), embed.get("fields"), max_len=25)
    if fields is not None:
        out_fields = []
        for index, raw in enumerate(fields):
            field_path = (*path, "fields", index)
            item = checks.dictionary(form, field_path, raw)
            if item is None:
                continue
            name = checks.required_string(
                form, (*field_path, "name"), item.get("name"), max_len=256, strip=True
            )
            field_value = checks.required_string(
                form, (*field_path, "value"), item.get("value"), max_len=1024, strip=True
            )
            inline = checks.boolean(form, (*field_path, "inline"), item.get("inline"))
            if name and field_value:
                out_fields.append({"name": name, "value": field_value, "inline": bool(inline)})
                size += len(name) + len(field_value)
        out["fields"] = out_fields
    return out, size


def validate_allowed_mentions(form: FormErrors, path: Path, value: Any) -> dict[str, Any] | None:
    mentions = checks.dictionary(form, path, value)
    if mentions is None:
        return None
    out: dict[str, Any] = {}
    parse = checks.array(form, (*path, "parse"), mentions.get("parse"))
    if parse is not None:
        out["parse"] = [
            item
            for index, item in enumerate(parse)
            if checks.choice(form, (*path, "parse", index), item, ("users", "roles", "everyone")) is not None
        ]
    for key in ("users", "roles"):
        ids = checks.array(form, (*path, key), mentions.get(key), max_len=100)
        if ids is None:
            continue
        out[key] = [
            s for i, raw in enumerate(ids) if (s := checks.snowflake(form, (*path, key, i), raw)) is not None
        ]
        if ids and parse is not None and key in parse:
            form.add(
                (*path, "parse"),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{key}"] and {key}: [ids] are mutually exclusive.',
            )
    replied = checks.boolean(form, (*path, "replied_user"), mentions.get("replied_user"))
    if replied is not None:
        out["replied_user"] = replied
    return out


def _validate_reference(form: FormErrors, path: Path, value: Any) -> dict[str, Any] | None:
    ref = checks.dictionary(form, path, value)
    if ref is None:
        return None
    ref_type = checks.choice(form, (*path, "type"), ref.get("type", 0), (0, 1))
    if ref_type == 1:
        raise errors.DiscordHTTPError(400, 0, "The Discord stand-in does not emulate message forwarding")
    if ref.get("message_id") is None:
        checks.required(form, (*path, "message_id"))
        return None
    return {
        "message_id": checks.snowflake(form, (*path, "message_id"), ref.get("message_id")),
        "channel_id": checks.snowflake(form, (*path, "channel_id"), ref.get("channel_id")),
        "guild_id": checks.snowflake(form, (*path, "guild_id"), ref.get("guild_id")),
        "fail_if_not_exists": checks.boolean(
            form, (*path, "fail_if_not_exists"), ref.get("fail_if_not_exists")
        ),
    }


# -- components ---------------------------------------------------------------------------------


class _ComponentScope:
    """Per-message bookkeeping: custom_id uniqueness and the total component count."""

    def __init__(self) -> None:
        self.custom_ids: set[str] = set()
        self.count = 0

    def custom_id(self, form: FormErrors, path: Path, value: Any) -> str | None:
        if value is None:
            checks.required(form, path)
            return None
        custom_id = checks.string(form, path, value, min_len=1, max_len=100)
        if custom_id is None:
            return None
        if custom_id in self.custom_ids:
            form.add(path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id was already specified")
            return None
        self.custom_ids.add(custom_id)
        return custom_id


def validate_message_components(
    form: FormErrors, path: Path, value: Any, *, v2: bool
) -> list[dict[str, Any]] | None:
    components = checks.array(form, path, value, max_len=40 if v2 else 5)
    if components is None:
        return None if value is None else []
    scope = _ComponentScope()
    for index, component in enumerate(components):
        item = checks.dictionary(form, (*path, index), component)
        if item is None:
            continue
        item_type = item.get("type")
        if not v2:
            if item_type != ACTION_ROW:
                form.add(
                    (*path, index, "type"),
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (1,); layouts need MessageFlags.IS_COMPONENTS_V2.',
                )
                continue
            _action_row(form, (*path, index), item, scope)
        else:
            _v2_component(form, (*path, index), item, scope, allowed=_V2_TOP_LEVEL)
    if v2 and scope.count > 40:
        form.add(path, "COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED", "The maximum number of components is 40")
    return components


def _action_row(form: FormErrors, path: Path, row: dict[str, Any], scope: _ComponentScope) -> None:
    scope.count += 1
    children = checks.array(form, (*path, "components"), row.get("components"), min_len=1, max_len=5)
    if children is None:
        if row.get("components") is None:
            checks.required(form, (*path, "components"))
        return
    kinds = [c.get("type") if isinstance(c, dict) else None for c in children]
    if any(k in SELECT_TYPES for k in kinds) and len(children) > 1:
        form.add(
            (*path, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        )
    for index, child in enumerate(children):
        item = checks.dictionary(form, (*path, "components", index), child)
        if item is None:
            continue
        child_path = (*path, "components", index)
        if item.get("type") == BUTTON:
            _button(form, child_path, item, scope)
        elif item.get("type") in SELECT_TYPES:
            _select(form, child_path, item, scope, in_modal=False)
        else:
            form.add(
                (*child_path, "type"),
                "COMPONENT_TYPE_INVALID",
                f"Component type {item.get('type')!r} is not allowed in a message action row.",
            )


def _button(form: FormErrors, path: Path, button: dict[str, Any], scope: _ComponentScope) -> None:
    scope.count += 1
    style = checks.choice(form, (*path, "style"), button.get("style"), (1, 2, 3, 4, 5, 6))
    if button.get("style") is None:
        checks.required(form, (*path, "style"))
    checks.string(form, (*path, "label"), button.get("label"), max_len=80)
    checks.boolean(form, (*path, "disabled"), button.get("disabled"))
    if button.get("emoji") is not None:
        _partial_emoji(form, (*path, "emoji"), button.get("emoji"))
    if style is None:
        return
    if style == 5:
        if button.get("url") is None:
            checks.required(form, (*path, "url"))
        else:
            checks.url(
                form, (*path, "url"), button.get("url"), schemes=("http", "https", "discord"), max_len=512
            )
        if button.get("custom_id") is not None:
            form.add(
                (*path, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_FORBIDDEN",
                "A link button cannot have a custom id",
            )
    elif style == 6:
        if button.get("sku_id") is None:
            checks.required(form, (*path, "sku_id"))
        for forbidden in ("custom_id", "label", "url", "emoji"):
            if button.get(forbidden) is not None:
                form.add(
                    (*path, forbidden),
                    "BUTTON_COMPONENT_INVALID_FIELD",
                    "Premium buttons cannot have this field",
                )
    else:
        scope.custom_id(form, (*path, "custom_id"), button.get("custom_id"))
        if button.get("url") is not None:
            form.add((*path, "url"), "BUTTON_COMPONENT_URL_FORBIDDEN", "Only link buttons can have a url")
    if style != 6 and not button.get("label") and not button.get("emoji"):
        form.add(path, "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A button must have a label or an emoji")


def _partial_emoji(form: FormErrors, path: Path, value: Any) -> None:
    emoji = checks.dictionary(form, path, value)
    if emoji is None:
        return
    checks.snowflake(form, (*path, "id"), emoji.get("id"))
    checks.string(form, (*path, "name"), emoji.get("name"), max_len=32)
    if emoji.get("id") is None and not emoji.get("name"):
        checks.required(form, (*path, "name"))


def _select(
    form: FormErrors, path: Path, select: dict[str, Any], scope: _ComponentScope, *, in_modal: bool
) -> None:
    scope.count += 1
    scope.custom_id(form, (*path, "custom_id"), select.get("custom_id"))
    checks.string(form, (*path, "placeholder"), select.get("placeholder"), max_len=150)
    min_values = checks.integer(form, (*path, "min_values"), select.get("min_values"), minimum=0, maximum=25)
    max_values = checks.integer(form, (*path, "max_values"), select.get("max_values"), minimum=1, maximum=25)
    low = 1 if min_values is None else min_values
    high = 1 if max_values is None else max_values
    if low > high:
        form.add(
            (*path, "min_values"),
            "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE",
            "min_values must be less than or equal to max_values",
        )
    if in_modal and select.get("disabled"):
        form.add((*path, "disabled"), "MODAL_COMPONENT_DISABLED", "Modal components cannot be disabled")
    if select.get("type") != STRING_SELECT:
        return
    if select.get("options") is None:
        checks.required(form, (*path, "options"))
        return
    options = checks.array(form, (*path, "options"), select.get("options"), min_len=1, max_len=25)
    if options is None:
        return
    values: set[str] = set()
    defaults = 0
    for index, option in enumerate(options):
        option_path = (*path, "options", index)
        item = checks.dictionary(form, option_path, option)
        if item is None:
            continue
        checks.required_string(form, (*option_path, "label"), item.get("label"), max_len=100)
        value = checks.required_string(form, (*option_path, "value"), item.get("value"), max_len=100)
        checks.string(form, (*option_path, "description"), item.get("description"), max_len=100)
        if item.get("emoji") is not None:
            _partial_emoji(form, (*option_path, "emoji"), item.get("emoji"))
        if item.get("default"):
            defaults += 1
        if value is not None:
            if value in values:
                form.add(
                    (*option_path, "value"),
                    "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                    "Option values must be unique",
                )
            values.add(value)
    if high > len(options):
        form.add(
            (*path, "max_values"),
            "SELECT_COMPONENT_MAX_VALUES_TOO_LARGE",
            "max_values exceeds the number of options",
        )
    if defaults > high:
        form.add(
            (*path, "options"), "SELECT_COMPONENT_TOO_MANY_DEFAULTS", "More default options than max_values"
        )


def _v2_component(
    form: FormErrors, path: Path, item: dict[str, Any], scope: _ComponentScope, *, allowed: set[int]
) -> None:
    item_type = item.get("type")
    if item_type not in allowed:
        form.add(
            (*path, "type"), "COMPONENT_TYPE_INVALID", f"Component type {item_type!r} is not allowed here."
        )
        return
    if item_type == ACTION_ROW:
        _action_row(form, path, item, scope)
        return
    scope.count += 1
    if item_type == TEXT_DISPLAY:
        checks.required_string(form, (*path, "content"), item.get("content"), max_len=4000)
    elif item_type == SECTION:
        texts = checks.array(form, (*path, "components"), item.get("components"), min_len=1, max_len=3)
        for index, text in enumerate(texts or []):
            sub = checks.dictionary(form, (*path, "components", index), text)
            if sub is not None:
                _v2_component(form, (*path, "components", index), sub, scope, allowed={TEXT_DISPLAY})
        accessory = checks.dictionary(form, (*path, "accessory"), item.get("accessory"))
        if accessory is None:
            checks.required(form, (*path, "accessory"))
        elif accessory.get("type") == BUTTON:
            _button(form, (*path, "accessory"), accessory, scope)
        else:
            _v2_component(form, (*path, "accessory"), accessory, scope, allowed={THUMBNAIL})
    elif item_type == THUMBNAIL:
        media = checks.dictionary(form, (*path, "media"), item.get("media"))
        if media is None:
            checks.required(form, (*path, "media"))
        else:
            checks.url(form, (*path, "media", "url"), media.get("url"), attachment_names=set())
    elif item_type == MEDIA_GALLERY:
        items = checks.array(form, (*path, "items"), item.get("items"), min_len=1, max_len=10)
        if items is None and item.get("items") is None:
            checks.required(form, (*path, "items"))
    elif item_type == FILE:
        media = checks.dictionary(form, (*path, "file"), item.get("file"))
        if media is None:
            checks.required(form, (*path, "file"))
        elif not str(media.get("url", "")).startswith("attachment://"):
            form.add(
                (*path, "file", "url"),
                "URL_TYPE_INVALID_SCHEME",
                "File components only support attachment:// URLs.",
            )
    elif item_type == SEPARATOR:
        checks.choice(form, (*path, "spacing"), item.get("spacing", 1), (1, 2))
    elif item_type == CONTAINER:
        children = checks.array(form, (*path, "components"), item.get("components"), min_len=1)
        for index, child in enumerate(children or []):
            sub = checks.dictionary(form, (*path, "components", index), child)
            if sub is not None:
                _v2_component(form, (*path, "components", index), sub, scope, allowed=_CONTAINER_CHILDREN)
        checks.integer(form, (*path, "accent_color"), item.get("accent_color"), minimum=0, maximum=0xFFFFFF)


# -- modals and autocomplete -------------------------------------------------------------------------


def validate_modal(form: FormErrors, path: Path, value: Any) -> dict[str, Any] | None:
    """Validate modal callback data (type 9)."""
    modal = checks.dictionary(form, path, value)
    if modal is None:
        if value is None:
            checks.required(form, path)
        return None
    checks.required_string(form, (*path, "custom_id"), modal.get("custom_id"), max_len=100)
    checks.required_string(form, (*path, "title"), modal.get("title"), max_len=45)
    if modal.get("components") is None:
        checks.required(form, (*path, "components"))
        return modal
    components = checks.array(form, (*path, "components"), modal.get("components"), min_len=1, max_len=5)
    scope = _ComponentScope()
    for index, component in enumerate(components or []):
        item_path = (*path, "components", index)
        item = checks.dictionary(form, item_path, component)
        if item is None:
            continue
        if item.get("type") == ACTION_ROW:
            children = checks.array(
                form, (*item_path, "components"), item.get("components"), min_len=1, max_len=1
            )
            for child_index, child in enumerate(children or []):
                child_path = (*item_path, "components", child_index)
                sub = checks.dictionary(form, child_path, child)
                if sub is None:
                    continue
                if sub.get("type") != TEXT_INPUT:
                    form.add(
                        (*child_path, "type"),
                        "COMPONENT_TYPE_INVALID",
                        "Modal action rows may only hold a text input",
                    )
                    continue
                _text_input(form, child_path, sub, scope, needs_label=True)
        elif item.get("type") == LABEL:
            checks.required_string(form, (*item_path, "label"), item.get("label"), max_len=45)
            checks.string(form, (*item_path, "description"), item.get("description"), max_len=100)
            child = checks.dictionary(form, (*item_path, "component"), item.get("component"))
            if child is None:
                checks.required(form, (*item_path, "component"))
            elif child.get("type") == TEXT_INPUT:
                _text_input(form, (*item_path, "component"), child, scope, needs_label=False)
            elif child.get("type") in SELECT_TYPES:
                _select(form, (*item_path, "component"), child, scope, in_modal=True)
            elif child.get("type") == FILE_UPLOAD:
                scope.custom_id(form, (*item_path, "component", "custom_id"), child.get("custom_id"))
            else:
                form.add(
                    (*item_path, "component", "type"), "COMPONENT_TYPE_INVALID", "Unsupported label child"
                )
        elif item.get("type") == TEXT_DISPLAY:
            checks.required_string(form, (*item_path, "content"), item.get("content"), max_len=4000)
        else:
            form.add(
                (*item_path, "type"),
                "COMPONENT_TYPE_INVALID",
                f"Component type {item.get('type')!r} is not allowed in a modal",
            )
    return modal


def _text_input(
    form: FormErrors, path: Path, item: dict[str, Any], scope: _ComponentScope, *, needs_label: bool
) -> None:
    scope.count += 1
    scope.custom_id(form, (*path, "custom_id"), item.get("custom_id"))
    if item.get("style") is None:
        checks.required(form, (*path, "style"))
    else:
        checks.choice(form, (*path, "style"), item.get("style"), (1, 2))
    if needs_label:
        checks.required_string(form, (*path, "label"), item.get("label"), max_len=45)
    else:
        checks.string(form, (*path, "label"), item.get("label"), max_len=45)
    low = checks.integer(form, (*path, "min_length"), item.get("min_length"), minimum=0, maximum=4000)
    high = checks.integer(form, (*path, "max_length"), item.get("max_length"), minimum=1, maximum=4000)
    if low is not None and high is not None and low > high:
        form.add(
            (*path, "min_length"),
            "TEXT_INPUT_MIN_LENGTH_TOO_LARGE",
            "min_length must be less than or equal to max_length",
        )
    checks.boolean(form, (*path, "required"), item.get("required"))
    # A pre-filled value must fit the input it fills, as Discord checks it against max_length.
    checks.string(form, (*path, "value"), item.get("value"), max_len=4000 if high is None else high)
    checks.string(form, (*path, "placeholder"), item.get("placeholder"), max_len=100)


def validate_autocomplete_result(
    form: FormErrors, path: Path, value: Any, option_type: int
) -> list[dict[str, Any]]:
    """Validate callback type 8 data against the focused option's type."""
    data = checks.dictionary(form, path, value)
    if data is None:
        checks.required(form, path)
        return []
    if data.get("choices") is None:
        checks.required(form, (*path, "choices"))
        return []
    choices = checks.array(form, (*path, "choices"), data.get("choices"), max_len=25)
    out = []
    for index, raw in enumerate(choices or []):
        choice_path = (*path, "choices", index)
        item = checks.dictionary(form, choice_path, raw)
        if item is None:
            continue
        name = checks.required_string(form, (*choice_path, "name"), item.get("name"), max_len=100)
        raw_value = item.get("value")
        if raw_value is None:
            checks.required(form, (*choice_path, "value"))
            continue
        if option_type == 3:
            checked = checks.string(form, (*choice_path, "value"), raw_value, max_len=100)
        elif option_type == 4:
            checked = checks.integer(form, (*choice_path, "value"), raw_value)
        else:
            checked = checks.number(form, (*choice_path, "value"), raw_value)
        if name is not None and checked is not None:
            out.append({"name": name, "value": checked})
    return out
