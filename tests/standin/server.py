"""The aiohttp application: routing, auth, recording, fault injection and error rendering."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import errors
from .core import StandInCore
from .errors import DiscordHTTPError
from .httputil import BODY_KEY, json_response, recorded_files
from .multipart import ParsedBody, read_body
from .recording import FaultRule, RecordedRequest
from .routes_channels import ChannelRoutes
from .routes_interactions import InteractionRoutes
from .routes_misc import MiscRoutes

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
RESUME_GATEWAY_PATH = "/gateway-resume"
# Routes Discord serves without a bot token (interaction tokens authenticate them).
_PUBLIC_ROUTES = {
    "/gateway",
    "/interactions/{interaction_id}/{token}/callback",
    "/webhooks/{application_id}/{token}",
    "/webhooks/{application_id}/{token}/messages/{message_id}",
}
_MAX_BODY = 512 * 1024 * 1024
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_error(rule: FaultRule) -> DiscordHTTPError:
    """The Discord-shaped answer for an injected status fault."""
    status = rule.status or 500
    if status == 429:
        error = DiscordHTTPError(429, 0, "You are being rate limited.")
        error.extra = {"retry_after": rule.retry_after, "global": False}
        # discord.py only trusts a 429 that came through Discord's proxy (``Via``).
        error.headers = {
            "Retry-After": str(rule.retry_after),
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        }
    else:
        error = DiscordHTTPError(status, 0, f"{status}: {_STATUS_TEXT.get(status, 'Error')}")
    if isinstance(rule.body, dict):
        error.message = rule.body.get("message", error.message)
        error.code = rule.body.get("code", error.code)
        error.extra.update({k: v for k, v in rule.body.items() if k not in ("message", "code")})
    return error


class StandInServer:
    """Serves the REST API under ``/api/v10``, the gateway, and the attachment CDN."""

    def __init__(self, core: StandInCore, *, host: str = "127.0.0.1") -> None:
        self.core = core
        self.host = host
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=_MAX_BODY)
        routes: list[web.RouteDef] = []
        for group in (MiscRoutes(self.core), ChannelRoutes(self.core), InteractionRoutes(self.core)):
            routes.extend(web.route(r.method, API_PREFIX + r.path, r.handler) for r in group.routes())
        routes.extend(MiscRoutes(self.core).cdn_routes())
        routes.append(web.get(GATEWAY_PATH, self.core.hub.handle))
        routes.append(web.get(RESUME_GATEWAY_PATH, self.core.hub.handle))
        app.add_routes(routes)
        # Bind first so the port is known before anything can connect (port 0 = any free port).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        # A short shutdown timeout: a test that forgot to stop its bot should not hang for a minute.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.core.world.base_url = self.base_url
        self.core.hub.url = self.gateway_url
        self.core.hub.resume_url = f"ws://{self.host}:{self.port}{RESUME_GATEWAY_PATH}"

    async def stop(self) -> None:
        await self.core.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- middleware ----------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.path in (GATEWAY_PATH, RESUME_GATEWAY_PATH)
            and request.headers.get("Upgrade", "").lower() == "websocket"
        ):
            return await handler(request)
        path = request.path
        relative = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else None
        if template is not None and template.startswith(API_PREFIX):
            template = template[len(API_PREFIX) :]
        record = RecordedRequest(
            at=self.core.clock.now(),
            method=request.method,
            path=relative,
            route=template,
            query=dict(request.query),
            json=None,
            files=[],
        )
        record.authorized = request.headers.get("Authorization") == f"Bot {self.core.token}"
        response: web.StreamResponse
        try:
            parsed, parse_error = await self._read(request)
            record.json = parsed.payload
            record.files = recorded_files(parsed)
            request[BODY_KEY] = parsed
            rule = self.core.recorder.take_fault(request.method, relative, record.json)
            if rule is not None and not rule.after:
                rule.hits.append(record)
                if rule.disconnect:
                    return self._disconnect(request, record)
                record.fault = "status"
                raise fault_error(rule)
            http_exception = getattr(request.match_info, "http_exception", None)
            if isinstance(http_exception, web.HTTPMethodNotAllowed):
                raise errors.method_not_allowed()
            if http_exception is not None or not (path.startswith(API_PREFIX + "/") or template):
                raise errors.not_found()
            if path.startswith(API_PREFIX + "/") and template not in _PUBLIC_ROUTES and not record.authorized:
                raise errors.unauthorized()
            if parse_error is not None:
                raise parse_error
            response = await handler(request)
            if rule is not None and rule.after:
                return await self._fault_after(request, record, rule, response)
        except DiscordHTTPError as exc:
            response = json_response(exc.body(), status=exc.status)
            response.headers.update(exc.headers)
        except web.HTTPException as exc:  # e.g. a plain GET on the websocket path
            response = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, status=exc.status)
        except Exception as exc:  # a stand-in bug: answer like Discord would, and remember it
            self.core.internal_errors.append(exc)
            response = json_response(errors.internal_error().body(), status=500)
        record.status = response.status
        record.response = _decoded(response)
        self.core.recorder.add(record)
        return response

    async def _read(self, request: web.Request) -> tuple[ParsedBody, DiscordHTTPError | None]:
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return ParsedBody(payload=None), None
        try:
            return await read_body(request), None
        except DiscordHTTPError as exc:
            return ParsedBody(payload=None), exc

    async def _fault_after(
        self, request: web.Request, record: RecordedRequest, rule: FaultRule, response: web.StreamResponse
    ) -> web.StreamResponse:
        """The request took effect; now its answer goes wrong the way ``rule`` says."""
        rule.hits.append(record)
        record.fault = rule.label
        record.status = response.status
        record.response = _decoded(response)
        if rule.on_hit is not None:
            rule.on_hit(record)
        if rule.hang_s > 0:
            await asyncio.sleep(rule.hang_s)
        if rule.disconnect:
            return self._disconnect(request, record)
        if rule.status is None:
            self.core.recorder.add(record)
            return response  # only late
        error = fault_error(rule)
        record.status = error.status
        self.core.recorder.add(record)
        faulty = json_response(error.body(), status=error.status)
        faulty.headers.update(error.headers)
        return faulty

    def _disconnect(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        record.fault = "disconnect"
        self.core.recorder.add(record)
        if request.transport is not None:
            request.transport.abort()
        # Nothing reaches the client; aiohttp discards this response on the dead transport.
        return web.Response(status=499)


def _decoded(response: web.StreamResponse) -> Any:
    if isinstance(response, web.Response) and response.content_type == "application/json" and response.body:
        assert isinstance(response.body, bytes)
        return json.loads(response.body)
    return None
