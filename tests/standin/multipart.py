"""Request-body decoding: JSON bodies and ``multipart/form-data`` with ``payload_json`` + ``files[n]``."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from . import errors

_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")
# Plain form fields Discord accepts without payload_json that must stay strings.
_STRING_FIELDS = {"content", "nonce", "username", "avatar_url", "thread_name"}


@dataclass(frozen=True)
class UploadedFile:
    """One ``files[n]`` part of a multipart request."""

    field_name: str
    index: int
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def detected_content_type(self) -> str:
        """The media type Discord reports: guessed from the name when the client sent octet-stream."""
        if self.content_type and self.content_type != "application/octet-stream":
            return self.content_type
        guessed, _ = mimetypes.guess_type(self.filename)
        return guessed or "application/octet-stream"


@dataclass(frozen=True)
class ParsedBody:
    payload: Any
    files: tuple[UploadedFile, ...] = ()
    multipart: bool = False


async def read_body(request: web.Request) -> ParsedBody:
    """Decode a request body the way Discord does, raising Discord-shaped errors."""
    if not request.body_exists:
        return ParsedBody(payload=None)
    content_type = request.content_type
    if content_type == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return ParsedBody(payload=None)
    if content_type not in ("application/json", ""):
        raise errors.invalid_form(
            [], "CONTENT_TYPE_INVALID", f"Expected Content-Type to be application/json, got {content_type}"
        )
    return ParsedBody(payload=_loads(raw))


def _loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.invalid_json() from None


async def _read_multipart(request: web.Request) -> ParsedBody:
    reader = await request.multipart()
    payload: dict[str, Any] | None = None
    loose_fields: dict[str, Any] = {}
    files: list[UploadedFile] = []
    next_legacy_index = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise errors.invalid_form([], "MULTIPART_INVALID", "Nested multipart bodies are not supported")
        name = part.name or ""
        if part.filename is not None:
            data = bytes(await part.read(decode=False))
            match = _FILE_FIELD.match(name)
            if match:
                index = int(match.group(1))
            else:
                # Legacy ``file``/``file1`` names: Discord numbers them in order.
                index = next_legacy_index
            next_legacy_index = max(next_legacy_index, index) + 1
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files.append(UploadedFile(name, index, part.filename, content_type, data))
            continue
        text = await part.text()
        if name == "payload_json":
            decoded = _loads(text)
            if not isinstance(decoded, dict):
                raise errors.invalid_form(
                    ["payload_json"], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
            payload = decoded
        elif name in _STRING_FIELDS:
            loose_fields[name] = text
        else:
            try:
                loose_fields[name] = json.loads(text)
            except ValueError:
                loose_fields[name] = text
    indices = [f.index for f in files]
    if len(set(indices)) != len(indices):
        raise errors.invalid_form(["files"], "FILE_INDEX_DUPLICATED", "Each files[n] field must be unique")
    merged: dict[str, Any] = dict(loose_fields)
    if payload is not None:
        merged.update(payload)
    return ParsedBody(payload=merged, files=tuple(files), multipart=True)
