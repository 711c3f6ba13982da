"""Interaction callbacks and the interaction-token webhook routes (follow-ups, ``@original``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import checks, errors, messages
from .checks import MISSING
from .core import INTERACTION_RESPONSE_WINDOW, INTERACTION_TOKEN_LIFETIME, StandInCore
from .errors import FormErrors
from .httputil import body, json_response, no_content, query_flag, recorded_files, snowflake_param
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
    InteractionResponse,
    OriginalEdit,
)
from .multipart import ParsedBody
from .routes_channels import apply_checked_edit
from .state import EPHEMERAL, LOADING, StoredMessage
from .validation import (
    EDIT_FLAGS,
    INTERACTION_FLAGS,
    MessageDraft,
    validate_autocomplete_result,
    validate_message,
    validate_modal,
)

# Which callback types each interaction type accepts.
_ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
_WEBHOOK_PARSE = ("users",)  # default allowed_mentions for interactions and webhooks


class InteractionRoutes:
    def __init__(self, core: StandInCore) -> None:
        self.core = core
        self.world = core.world

    def routes(self) -> list[web.RouteDef]:
        message = "/webhooks/{application_id}/{token}/messages/{message_id}"
        return [
            web.post("/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post("/webhooks/{application_id}/{token}", self.followup),
            web.get(message, self.get_message),
            web.patch(message, self.edit_message),
            web.delete(message, self.delete_message),
        ]

    # -- the initial callback ---------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        record = self.core.interactions.get(snowflake_param(request, "interaction_id"))
        if record is None or record.token != request.match_info["token"]:
            raise errors.unknown_interaction()
        if record.response is not None:
            raise errors.already_acknowledged()
        now = self.core.clock.now()
        if now - record.created_at > INTERACTION_RESPONSE_WINDOW:
            raise errors.unknown_interaction()
        parsed = body(request)
        form = FormErrors()
        payload = checks.dictionary(form, (), parsed.payload if parsed.payload is not None else {})
        form.raise_if_any()
        assert payload is not None
        callback_type = payload.get("type")
        if callback_type is None:
            raise errors.invalid_form(["type"], "BASE_TYPE_REQUIRED", "This field is required")
        if (
            isinstance(callback_type, bool)
            or not isinstance(callback_type, int)
            or callback_type not in _ALLOWED_CALLBACKS[record.type]
        ):
            raise errors.invalid_form(
                ["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Interaction response type {callback_type!r} is not valid here",
            )
        if callback_type in (6, 7) and record.source_message_id is None:
            raise errors.invalid_form(
                ["type"], "INTERACTION_RESPONSE_TYPE_INVALID", "This interaction has no message to update"
            )
        data = payload.get("data")
        resource: dict[str, Any] = {"type": callback_type}
        summary: dict[str, Any] = {"id": str(record.id), "type": record.type}
        if callback_type in (4, 7):
            self.core.check_upload_size(parsed.files, self._guild(record))
        if callback_type == 4:
            message = self._respond_with_message(record, data, parsed)
            resource["message"] = self.core.render(message)
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=False,
                response_message_ephemeral=message.ephemeral,
            )
        elif callback_type == 5:
            message = self._defer(record, data)
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=True,
                response_message_ephemeral=message.ephemeral,
            )
        elif callback_type == 6:
            record.original_message_id = record.source_message_id
        elif callback_type == 7:
            message = self._update_source(record, data, parsed)
            resource["message"] = self.core.render(message)
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=False,
                response_message_ephemeral=message.ephemeral,
            )
        elif callback_type == 8:
            form = FormErrors()
            validate_autocomplete_result(form, ("data",), data, record.focused_type or 3)
            form.raise_if_any()
        elif callback_type == 9:
            form = FormErrors()
            validate_modal(form, ("data",), data)
            form.raise_if_any()
            record.modal = data
        record.response = InteractionResponse(
            type=callback_type,
            data=data if isinstance(data, dict) else None,
            elapsed=now - record.created_at,
            at=now,
            files=recorded_files(parsed),
        )
        self.core.changed()
        if query_flag(request, "with_response"):
            return json_response({"interaction": summary, "resource": resource})
        return no_content()

    def _guild(self, record: InteractionRecord) -> Any:
        return self.world.guilds.get(record.guild_id) if record.guild_id is not None else None

    def _new_message(
        self,
        record: InteractionRecord,
        draft: MessageDraft,
        *,
        flags: int = 0,
        original_id: int | None = None,
    ) -> StoredMessage:
        channel = self.world.channels[record.channel_id]
        user = self.world.users[record.user_id]
        extra: dict[str, Any] = {
            "webhook_id": self.world.application_id,
            "application_id": self.world.application_id,
            "interaction_id": record.id,
            "interaction_metadata": record.metadata(user, original_response_id=original_id),
        }
        if record.type == APPLICATION_COMMAND and record.command is not None:
            extra["interaction"] = {
                "id": str(record.id),
                "type": record.type,
                "name": record.payload["data"]["name"],
                "user": user.to_payload(),
            }
        if record.source_message_id is not None:
            source = self.world.messages[record.source_message_id]
            extra["message_reference"] = {
                "type": 0,
                "message_id": str(source.id),
                "channel_id": str(source.channel_id),
                **({"guild_id": str(source.guild_id)} if source.guild_id else {}),
            }
        return messages.create_message(
            self.world,
            channel,
            self.world.bot,
            draft,
            message_type=record.message_type,
            flags=flags,
            default_parse=_WEBHOOK_PARSE,
            extra=extra,
        )

    def _respond_with_message(
        self, record: InteractionRecord, data: Any, parsed: ParsedBody
    ) -> StoredMessage:
        draft = validate_message(
            data, parsed.files, mode="create", allowed_flags=INTERACTION_FLAGS, path=("data",)
        )
        if draft.message_reference is not MISSING:
            raise errors.invalid_form(
                ["data", "message_reference"], "BASE_TYPE_INVALID", "Not allowed in interaction responses"
            )
        if not draft.has_content():
            raise errors.empty_message()
        message = self._new_message(record, draft)
        record.original_message_id = message.id
        self.core.message_created(message)
        return message

    def _defer(self, record: InteractionRecord, data: Any) -> StoredMessage:
        form = FormErrors()
        payload = checks.dictionary(form, ("data",), data) or {}
        flags = checks.integer(form, ("data", "flags"), payload.get("flags"), minimum=0) or 0
        if flags & ~EPHEMERAL:
            form.add(
                ("data", "flags"), "MESSAGE_FLAGS_INVALID", "Only EPHEMERAL may be set on a deferred response"
            )
        form.raise_if_any()
        # Discord shows a "thinking" placeholder: an empty message flagged LOADING.
        message = self._new_message(record, MessageDraft(), flags=LOADING | (flags & EPHEMERAL))
        record.original_message_id = message.id
        self.core.message_created(message)
        return message

    def _update_source(self, record: InteractionRecord, data: Any, parsed: ParsedBody) -> StoredMessage:
        assert record.source_message_id is not None
        source = self.world.messages[record.source_message_id]
        if source.deleted:
            raise errors.unknown_message()
        draft = validate_message(
            data,
            parsed.files,
            mode="edit",
            allowed_flags=EDIT_FLAGS,
            path=("data",),
            existing_attachments=self._attachment_names(source),
        )
        apply_checked_edit(self.core, source, draft, default_parse=_WEBHOOK_PARSE)
        record.original_message_id = source.id
        self.core.message_updated(source)
        return source

    def _attachment_names(self, message: StoredMessage) -> dict[int, str]:
        ids = [*message.attachment_ids, *message.embedded_attachment_ids]
        return {a: self.world.attachments[a].filename for a in ids}

    # -- webhook routes ---------------------------------------------------------------------------

    def _record_for(self, request: web.Request) -> InteractionRecord:
        if snowflake_param(request, "application_id") != self.world.application_id:
            raise errors.unknown_webhook()
        record = self.core.interactions_by_token.get(request.match_info["token"])
        if record is None or self.core.clock.now() - record.created_at > INTERACTION_TOKEN_LIFETIME:
            raise errors.invalid_webhook_token()
        return record

    def _token_message(self, request: web.Request, record: InteractionRecord) -> StoredMessage:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = record.original_message_id
        else:
            message_id = snowflake_param(request, "message_id")
            if message_id not in (record.original_message_id, *record.followup_ids):
                message_id = None
        message = None if message_id is None else self.world.live_message(message_id)
        if message is None:
            raise errors.unknown_message()
        return message

    async def followup(self, request: web.Request) -> web.Response:
        record = self._record_for(request)
        if record.response is None or record.response.type in (8, 9):
            # The token's webhook only exists once the interaction was acknowledged with a message flow.
            raise errors.unknown_webhook()
        parsed = body(request)
        self.core.check_upload_size(parsed.files, self._guild(record))
        original = (
            None
            if record.original_message_id is None
            else self.world.live_message(record.original_message_id)
        )
        if record.response.type == 5 and original is not None and original.flags & LOADING:
            # Documented compatibility: the first follow-up after a deferral edits the placeholder.
            return self._edit_original(record, original, parsed, mode_flags=EDIT_FLAGS | EPHEMERAL)
        draft = validate_message(parsed.payload, parsed.files, mode="create", allowed_flags=INTERACTION_FLAGS)
        if not draft.has_content():
            raise errors.empty_message()
        message = self._new_message(record, draft, original_id=record.original_message_id)
        record.followup_ids.append(message.id)
        self.core.message_created(message)
        return json_response(self.core.render(message))

    async def get_message(self, request: web.Request) -> web.Response:
        record = self._record_for(request)
        return json_response(self.core.render(self._token_message(request, record)))

    async def edit_message(self, request: web.Request) -> web.Response:
        record = self._record_for(request)
        message = self._token_message(request, record)
        parsed = body(request)
        self.core.check_upload_size(parsed.files, self._guild(record))
        if message.id == record.original_message_id:
            return self._edit_original(record, message, parsed, mode_flags=EDIT_FLAGS)
        draft = validate_message(
            parsed.payload,
            parsed.files,
            mode="edit",
            allowed_flags=EDIT_FLAGS,
            existing_attachments=self._attachment_names(message),
        )
        apply_checked_edit(self.core, message, draft, default_parse=_WEBHOOK_PARSE)
        self.core.message_updated(message)
        return json_response(self.core.render(message))

    def _edit_original(
        self, record: InteractionRecord, message: StoredMessage, parsed: ParsedBody, *, mode_flags: int
    ) -> web.Response:
        draft = validate_message(
            parsed.payload,
            parsed.files,
            mode="edit",
            allowed_flags=mode_flags,
            existing_attachments=self._attachment_names(message),
        )
        apply_checked_edit(self.core, message, draft, default_parse=_WEBHOOK_PARSE)
        rendered = self.core.render(message)
        record.edits.append(
            OriginalEdit(
                at=self.core.clock.now(),
                payload=parsed.payload or {},
                files=recorded_files(parsed),
                message=rendered,
            )
        )
        self.core.message_updated(message)
        return json_response(rendered)

    async def delete_message(self, request: web.Request) -> web.Response:
        record = self._record_for(request)
        message = self._token_message(request, record)
        self.core.message_deleted(message)
        return no_content()
