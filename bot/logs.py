"""Log lines as ``key=value`` records, each carrying the job it belongs to (``job=-`` when none),
or, with ``[logging] format = "json"``, as one JSON object per line for log collectors.

No line ever shows a credential: the formatter redacts interaction and webhook tokens (which
discord.py's debug log prints inside URLs and gateway payloads) and the bot token, whatever
the level and wherever in the line, tracebacks included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from contextvars import ContextVar

#: The job the current task (or GPU thread, which copies the context) is working on.
current_job: ContextVar[str] = ContextVar("current_job", default="-")

FORMAT = "%(asctime)s level=%(levelname)s job=%(job)s logger=%(name)s msg=%(message)s"


REDACTED = "<redacted>"

#: Exact secrets (the bot token) to hide wherever they appear.
_secrets: set[str] = set()
# Tokens in REST paths: /webhooks/<application>/<token>/… and /interactions/<id>/<token>/callback.
_TOKEN_IN_PATH = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"]+")
# Tokens in payloads as dict reprs or JSON: 'token': '…' and "token": "…" (interactions, voice).
_TOKEN_IN_PAYLOAD = re.compile(r"""(['"]token['"]\s*:\s*)(['"])(?:(?!\2).)*\2""")
# An interaction token anywhere else (a database parameter, an exception): Discord's start with
# the base64 of "interaction:".
_INTERACTION_TOKEN = re.compile(r"aW50ZXJhY3Rpb246[\w-]*")


def add_secret(value: str) -> None:
    """Hide ``value`` (the bot token) from every log line from now on."""
    if value.strip():
        _secrets.add(value.strip())


def redact(text: str) -> str:
    """``text`` with every known secret and every interaction or webhook token replaced."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    text = _TOKEN_IN_PATH.sub(r"\1" + REDACTED, text)
    text = _TOKEN_IN_PAYLOAD.sub(r"\1\2" + REDACTED + r"\2", text)
    return _INTERACTION_TOKEN.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts secrets from the whole line (message, arguments, traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``job_id`` when the line belongs to a job, ``exception`` with the traceback when there is one.

    Each text field is redacted before it is encoded (a token escaped inside JSON would no longer
    look like one to the patterns).
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        job = getattr(record, "job", "-")
        if job != "-":
            entry["job_id"] = int(job) if job.isdigit() else job
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


FORMATS = ("text", "json")


def formatter(kind: str = "text") -> logging.Formatter:
    """The formatter of ``[logging] format``: "text" (``key=value``) or "json"."""
    if kind == "json":
        return JsonFormatter()
    if kind == "text":
        return RedactingFormatter(FORMAT)
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}; got {kind!r}")


class JobFilter(logging.Filter):
    """Adds ``record.job`` from the context, so every line names its job."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job = current_job.get()
        return True


@contextlib.contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Everything logged inside (and in tasks or threads started inside) names ``job_id``."""
    token = current_job.set(str(job_id))
    try:
        yield
    finally:
        current_job.reset(token)


def configure_logging(verbose: bool = False, kind: str = "text") -> None:
    """Log to stderr in ``kind`` ("text" or "json"); ``verbose``: at debug level."""
    handler = logging.StreamHandler()
    handler.addFilter(JobFilter())
    handler.setFormatter(formatter(kind))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    # Library chatter (download retries, dtype notes) is not for operators unless asked.
    for noisy in ("diffusers", "transformers", "huggingface_hub", "httpx"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)
    # aiosqlite's debug lines repeat every SQL parameter: users' words and credentials.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def use_format(kind: str) -> None:
    """Switch the handlers :func:`configure_logging` installed to ``kind`` (once the config is read)."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, JobFilter) for f in handler.filters):
            handler.setFormatter(formatter(kind))
