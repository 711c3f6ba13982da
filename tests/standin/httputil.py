"""Small helpers shared by the route modules."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import errors
from .multipart import ParsedBody
from .recording import RecordedFile

BODY_KEY = web.RequestKey("standin_body", ParsedBody)


def json_response(payload: Any, status: int = 200) -> web.Response:
    # Exactly ``application/json`` (no charset), like Discord: discord.py compares the header verbatim.
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(status=status, body=encoded, headers={"Content-Type": "application/json"})


def no_content() -> web.Response:
    return web.Response(status=204)


def body(request: web.Request) -> ParsedBody:
    """The decoded body (parsed once by the middleware)."""
    parsed = request.get(BODY_KEY)
    return parsed if isinstance(parsed, ParsedBody) else ParsedBody(payload=None)


def snowflake_param(request: web.Request, name: str) -> int:
    """A snowflake path parameter; Discord answers 50035 for non-numeric ones."""
    raw = request.match_info[name]
    if not raw.isdigit():
        raise errors.invalid_form([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
    return int(raw)


def query_int(
    request: web.Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """An integer (or snowflake) query parameter, answering 50035 like Discord when malformed."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise errors.invalid_form([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')
    value = int(raw)
    if value < minimum:
        raise errors.invalid_form(
            [name], "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {minimum}."
        )
    if maximum is not None and value > maximum:
        raise errors.invalid_form(
            [name], "NUMBER_TYPE_MAX", f"int value should be less than or equal to {maximum}."
        )
    return value


def query_flag(request: web.Request, name: str) -> bool:
    """Discord's boolean query strings: True/true/1."""
    return request.query.get(name, "").lower() in ("true", "1")


def recorded_files(parsed: ParsedBody) -> list[RecordedFile]:
    return [RecordedFile(f.field_name, f.filename, f.content_type, f.data) for f in parsed.files]
