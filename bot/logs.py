"""Log lines as ``key=value`` records, each carrying the job it belongs to (``job=-`` when none).

No line ever shows a credential: the formatter redacts interaction and webhook tokens (which
discord.py's debug log prints inside URLs and gateway payloads) and the bot token, whatever
the level and wherever in the line, tracebacks included.
"""

from __future__ import annotations

import contextlib
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


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(JobFilter())
    handler.setFormatter(RedactingFormatter(FORMAT))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    # Library chatter (download retries, dtype notes) is not for operators unless asked.
    for noisy in ("diffusers", "transformers", "huggingface_hub", "httpx"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)
    # aiosqlite's debug lines repeat every SQL parameter: users' words and credentials.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
