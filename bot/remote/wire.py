"""What travels through Redis between the bot and its GPU workers, as compact data.

An *order* is one job of a batch: the :class:`~generation.recipes.render.RenderJob` as small JSON
(request, recipe, variations, upload limit) in the SAQ job itself. A layered scene's stored stems
(:class:`~generation.recipes.mixing.Mix`, megabytes of float32) go beside it as an ``.npz`` blob
in a key of their own, so the SAQ record that every worker and the bot read stays small.

A batch's *outcome* is one binary blob: a magic, a JSON header (the batch's key, which names the
database that ordered it; per job: its clips' numbers and requests, or the error that ended it)
and the bytes it points into (MP3s, the scene's stems). Errors travel by type name and message
and come back as the same exception types, so delivery tells users the same thing as with the
local executor. Nothing here imports Redis or torch.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.jobs.executor import Work
from generation import errors
from generation.recipes.mixing import Mix
from generation.recipes.order import Clip, Rendered, RenderJob
from generation.recipes.recipe import Recipe
from generation.request import GenerationRequest

MAGIC = b"AGW1"
_LENGTH = struct.Struct(">I")

#: Exceptions that cross the wire as themselves; anything else arrives as a GenerationError.
_ERRORS: dict[str, type[BaseException]] = {
    cls.__name__: cls
    for cls in (
        errors.Cancelled,
        errors.RequestError,
        errors.GenerationError,
        errors.OutOfMemory,
        errors.ModelUnavailable,
        errors.StuckGeneration,
    )
}

Outcome = Rendered | BaseException


class WireError(ValueError):
    """Bytes that are not an outcome of this protocol."""


# -- orders ---------------------------------------------------------------------------------------


def order_to_dict(work: Work, source_key: str | None = None) -> dict[str, Any]:
    """One job of a batch as JSON-able data; its stems (if any) travel in ``source_key``."""
    job = work.render
    return {
        "job_id": work.job_id,
        "nonce": work.nonce,
        "request": job.request.to_dict(),
        "recipe": job.recipe.to_dict(),
        "variations": job.variations,
        "max_bytes": job.max_bytes,
        "source_model": job.source_model,
        "source_key": source_key,
    }


def order_from_dict(data: Mapping[str, Any], source: Mix | None = None) -> Work:
    """The :class:`Work` of :func:`order_to_dict`, with its stems loaded by the caller."""
    render = RenderJob(
        request=GenerationRequest.from_dict(data["request"]),
        recipe=Recipe.from_dict(data["recipe"]),
        variations=int(data["variations"]),
        max_bytes=int(data["max_bytes"]),
        source=source,
        source_model=data.get("source_model"),
    )
    return Work(int(data["job_id"]), render, str(data.get("nonce") or ""))


def mix_to_bytes(mix: Mix) -> bytes:
    buffer = io.BytesIO()
    mix.save(buffer)
    return buffer.getvalue()


def mix_from_bytes(data: bytes) -> Mix:
    return Mix.load(io.BytesIO(data))


# -- outcomes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcomes:
    """A decoded batch outcome: each job's result or error, and who made it."""

    results: dict[int, Outcome]
    model: str
    sample_rate: int
    worker: str
    batch: str = ""
    """The SAQ key of the batch it answers (its database's identity and its jobs' nonces)."""


class _Payload:
    """Bytes appended one after the other; each addressed by ``[offset, length]``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> list[int]:
        where = [self.size, len(data)]
        self.parts.append(data)
        self.size += len(data)
        return where


def _clip_header(clip: Clip, payload: _Payload) -> dict[str, Any]:
    return {
        "request": clip.request.to_dict(),
        "lufs": clip.lufs,
        "duration_s": clip.duration_s,
        "score": clip.score,
        "model": clip.model,
        "mp3": payload.add(clip.mp3),
    }


def _error_header(exc: BaseException) -> dict[str, str]:
    name = type(exc).__name__
    return {"type": name if name in _ERRORS else "GenerationError", "message": str(exc)[:500]}


def encode_outcomes(
    outcomes: Mapping[int, Outcome], *, model: str, sample_rate: int, worker: str, batch: str = ""
) -> bytes:
    """One batch's outcome as bytes (see the module docstring)."""
    payload = _Payload()
    jobs: dict[str, Any] = {}
    for job_id, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            jobs[str(job_id)] = {"error": _error_header(outcome)}
            continue
        jobs[str(job_id)] = {
            "seconds": outcome.seconds,
            "posted": [_clip_header(clip, payload) for clip in outcome.posted],
            "spares": [_clip_header(clip, payload) for clip in outcome.spares],
            "mix": payload.add(mix_to_bytes(outcome.mix)) if outcome.mix is not None else None,
        }
    header = json.dumps(
        {"jobs": jobs, "model": model, "sample_rate": sample_rate, "worker": worker, "batch": batch},
        separators=(",", ":"),
    ).encode()
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, *payload.parts])


def _slice(body: memoryview, where: list[int]) -> bytes:
    offset, length = int(where[0]), int(where[1])
    if offset < 0 or length < 0 or offset + length > len(body):
        raise WireError("an outcome points past its end")
    return bytes(body[offset : offset + length])


def _clip(data: Mapping[str, Any], body: memoryview) -> Clip:
    score = data.get("score")
    return Clip(
        request=GenerationRequest.from_dict(data["request"]),
        mp3=_slice(body, data["mp3"]),
        lufs=float(data["lufs"]),
        duration_s=float(data["duration_s"]),
        score=None if score is None else float(score),
        model=str(data.get("model") or ""),
    )


def _error(data: Mapping[str, str]) -> BaseException:
    cls = _ERRORS.get(data.get("type", ""), errors.GenerationError)
    message = data.get("message", "")
    return cls(message) if message or cls is not errors.Cancelled else cls()


def decode_outcomes(blob: bytes) -> Outcomes:
    """The outcomes in ``blob``; raises :class:`WireError` for anything else."""
    if len(blob) < len(MAGIC) + _LENGTH.size or not blob.startswith(MAGIC):
        raise WireError("not an outcome blob (wrong magic)")
    (length,) = _LENGTH.unpack_from(blob, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    try:
        header = json.loads(blob[start : start + length])
        body = memoryview(blob)[start + length :]
        results: dict[int, Outcome] = {}
        for key, data in header["jobs"].items():
            if "error" in data:
                results[int(key)] = _error(data["error"])
                continue
            mix = mix_from_bytes(_slice(body, data["mix"])) if data.get("mix") else None
            results[int(key)] = Rendered(
                posted=[_clip(c, body) for c in data["posted"]],
                seconds=float(data["seconds"]),
                spares=[_clip(c, body) for c in data["spares"]],
                mix=mix,
            )
        return Outcomes(
            results,
            str(header["model"]),
            int(header["sample_rate"]),
            str(header["worker"]),
            str(header.get("batch") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"a damaged outcome blob ({type(exc).__name__}: {exc})") from exc
