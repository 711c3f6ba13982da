"""Gateway discovery, users, the application, guilds, application commands and the attachment CDN."""

from __future__ import annotations

from aiohttp import web

from . import checks, errors
from .core import StandInCore
from .errors import FormErrors
from .gateway import GUILD_MEMBERS
from .httputil import body, json_response, no_content, query_int, snowflake_param
from .state import Guild


class MiscRoutes:
    def __init__(self, core: StandInCore) -> None:
        self.core = core
        self.world = core.world

    def routes(self) -> list[web.RouteDef]:
        app = "/applications/{application_id}"
        guild_commands = app + "/guilds/{guild_id}/commands"
        return [
            web.get("/gateway", self.gateway),
            web.get("/gateway/bot", self.gateway_bot),
            web.get("/users/@me", self.me),
            web.post("/users/@me/channels", self.create_dm),
            web.get("/users/{user_id}", self.user),
            web.get("/oauth2/applications/@me", self.application),
            web.get("/applications/@me", self.application),
            web.get("/guilds/{guild_id}", self.guild),
            web.get("/guilds/{guild_id}/channels", self.guild_channels),
            web.get("/guilds/{guild_id}/roles", self.guild_roles),
            web.get("/guilds/{guild_id}/members", self.guild_members),
            web.get("/guilds/{guild_id}/members/{user_id}", self.guild_member),
            web.get(app + "/commands", self.list_commands),
            web.put(app + "/commands", self.overwrite_commands),
            web.post(app + "/commands", self.create_command),
            web.get(app + "/commands/{command_id}", self.get_command),
            web.delete(app + "/commands/{command_id}", self.delete_command),
            web.get(guild_commands, self.list_commands),
            web.put(guild_commands, self.overwrite_commands),
            web.post(guild_commands, self.create_command),
            web.get(guild_commands + "/{command_id}", self.get_command),
            web.delete(guild_commands + "/{command_id}", self.delete_command),
        ]

    def cdn_routes(self) -> list[web.RouteDef]:
        path = "/attachments/{channel_id}/{attachment_id}/{filename}"
        return [web.get(path, self.attachment), web.get("/media" + path, self.attachment)]

    # -- gateway, users, application ---------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.core.hub.url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.core.hub.url,
                "shards": self.core.hub.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": self.core.hub.max_concurrency,
                },
            }
        )

    async def me(self, request: web.Request) -> web.Response:
        user = self.world.bot.to_payload()
        user.update(verified=True, mfa_enabled=False, email=None, locale="en-US", flags=0, premium_type=0)
        return json_response(user)

    async def user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(snowflake_param(request, "user_id"))
        if user is None:
            raise errors.unknown_user()
        return json_response(user.to_payload())

    async def create_dm(self, request: web.Request) -> web.Response:
        form = FormErrors()
        payload = checks.dictionary(form, (), body(request).payload) or {}
        if payload.get("recipient_id") is None:
            checks.required(form, ("recipient_id",))
        recipient_id = checks.snowflake(form, ("recipient_id",), payload.get("recipient_id"))
        form.raise_if_any()
        user = self.world.users.get(recipient_id or 0)
        if user is None or user.id == self.world.bot.id:
            raise errors.unknown_user()
        return json_response(self.world.channel_payload(self.world.dm_channel(user)))

    async def application(self, request: web.Request) -> web.Response:
        world = self.world
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot": world.bot.to_payload(),
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": self.core.hub.application_flags,
                "owner": world.owner.to_payload(),
                "team": None,
                "rpc_origins": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "tags": [],
                "redirect_uris": [],
                "approximate_guild_count": sum(1 for g in world.guilds.values() if world.bot.id in g.members),
                "integration_types_config": {"0": {}},
            }
        )

    # -- guilds -------------------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(snowflake_param(request, "guild_id"))
        if guild is None:
            raise errors.unknown_guild()
        if self.world.bot.id not in guild.members:
            raise errors.missing_access()
        return guild

    async def guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        payload = self.world.guild_payload(guild)
        if request.query.get("with_counts", "").lower() in ("true", "1"):
            payload.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return json_response(payload)

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        channels = [self.world.channels[c] for c in guild.channel_ids if not self.world.channels[c].deleted]
        return json_response([self.world.channel_payload(c) for c in channels])

    async def guild_roles(self, request: web.Request) -> web.Response:
        return json_response([r.to_payload() for r in self._guild(request).roles.values()])

    async def guild_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        # Listing members is gated on the GUILD_MEMBERS privileged intent being enabled for the app.
        if not self.core.hub.privileged_intents & GUILD_MEMBERS:
            raise errors.missing_access()
        limit = query_int(request, "limit", 1, minimum=1, maximum=1000)
        after = query_int(request, "after", 0)
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return json_response([self.world.member_payload(m) for m in members[:limit]])

    async def guild_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = guild.members.get(snowflake_param(request, "user_id"))
        if member is None:
            raise errors.unknown_member()
        return json_response(self.world.member_payload(member))

    # -- application commands --------------------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        if snowflake_param(request, "application_id") != self.world.application_id:
            raise errors.not_application_owner()
        if "guild_id" not in request.match_info:
            return None
        return self._guild(request).id

    async def list_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        return json_response([c.to_payload() for c in self.core.commands.commands(scope)])

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        commands = self.core.commands.bulk_overwrite(scope, body(request).payload)
        self.core.changed()
        return json_response([c.to_payload() for c in commands])

    async def create_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        command, created = self.core.commands.create(scope, body(request).payload)
        self.core.changed()
        return json_response(command.to_payload(), status=201 if created else 200)

    async def get_command(self, request: web.Request) -> web.Response:
        command = self.core.commands.get(self._scope(request), snowflake_param(request, "command_id"))
        if command is None:
            raise errors.unknown_command()
        return json_response(command.to_payload())

    async def delete_command(self, request: web.Request) -> web.Response:
        if not self.core.commands.delete(self._scope(request), snowflake_param(request, "command_id")):
            raise errors.unknown_command()
        self.core.changed()
        return no_content()

    # -- CDN ------------------------------------------------------------------------------------------

    async def attachment(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["attachment_id"]
        attachment = self.world.attachments.get(int(raw_id)) if raw_id.isdigit() else None
        if (
            attachment is None
            or str(attachment.channel_id) != request.match_info["channel_id"]
            or attachment.filename != request.match_info["filename"]
        ):
            return web.Response(status=404, text="404: Not Found")
        headers = {
            "Content-Type": attachment.content_type,
            "Content-Disposition": f'attachment; filename="{attachment.filename}"',
        }
        return web.Response(body=attachment.data, headers=headers)
