"""Keys that say how the bot reaches Discord and Redis: URLs, ids, shards and token lifetimes."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.config.checks import fail, invalid
from bot.config.messages import show

#: The only place the bot token is read from.
TOKEN_ENV = "DISCORD_TOKEN"

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"

#: The bot stops using an interaction token this long before Discord expires it (clock skew, slow
#: uploads); the messenger reads it from here, so the config can refuse a TTL it would never use.
TOKEN_MARGIN_S = 60.0
#: Shortest ``interaction_ttl_s`` that leaves a token usable for a minute after the margin.
MIN_INTERACTION_TTL_S = TOKEN_MARGIN_S + 60.0
#: Discord's interaction tokens last 15 minutes.
MAX_INTERACTION_TTL_S = 900.0

#: Discord snowflakes are unsigned 64-bit integers.
MAX_SNOWFLAKE = 2**64 - 1
QUEUE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: Where a Redis password is read from (never from the config file, like the bot token).
REDIS_PASSWORD_ENV = "AMBIENTGEN_REDIS_PASSWORD"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def api_base_url(value: Any) -> str:
    expected = f'an http:// or https:// URL such as "{DEFAULT_API_BASE_URL}"'
    if not isinstance(value, str):
        raise fail(expected, value)
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise fail(expected, value) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise fail(expected, value)
    if parts.username is not None or parts.password is not None:
        raise invalid("must not contain a user name or password; got a URL with credentials")
    if parts.query or parts.fragment:
        raise fail(f"{expected}, without ?query or #fragment", value)
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        raise invalid(
            f"must use https:// unless its host is a loopback address (127.0.0.1, ::1 or "
            f"localhost): over plain http:// the bot token would cross the network unencrypted; "
            f"got {show(value)}"
        )
    return url


def fail_entry(position: int, expected: str, value: Any) -> Exception:
    """A refused item of a list, named by its position (from 1)."""
    return invalid(f"entry {position} must be {expected}; got {show(value)}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (a stand-in or proxy for tests)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def interaction_ttl(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail("a number of seconds", value)
    if not math.isfinite(value):
        raise fail("a finite number of seconds", value)
    seconds = float(value)
    if seconds < MIN_INTERACTION_TTL_S:
        raise invalid(
            f"must be at least {MIN_INTERACTION_TTL_S:g} seconds: the bot stops using a token "
            f"{TOKEN_MARGIN_S:g} s before this time is up, so a shorter one leaves no time to reply "
            f"through it; got {show(value)}"
        )
    if seconds > MAX_INTERACTION_TTL_S:
        raise fail(f"at most {MAX_INTERACTION_TTL_S:g} seconds (Discord's tokens last 15 minutes)", value)
    return seconds


def guild_ids(value: Any) -> tuple[int, ...]:
    expected = "a list of guild ids (positive integers or digit strings), e.g. [123456789012345678]"
    if not isinstance(value, list | tuple):
        raise fail(expected, value)
    ids: list[int] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            guild = int(item.strip())
        elif isinstance(item, int) and not isinstance(item, bool):
            guild = item
        else:
            raise fail_entry(position, "a guild id (a positive integer or digit string)", item)
        if not 0 < guild <= MAX_SNOWFLAKE:
            raise fail_entry(position, f"a guild id between 1 and {MAX_SNOWFLAKE}", item)
        if guild not in ids:
            ids.append(guild)
    return tuple(ids)


def shard_ids(value: Any) -> tuple[int, ...]:
    expected = "a list of shard numbers (integers from 0), e.g. [0, 1]"
    if not isinstance(value, list | tuple):
        raise fail(expected, value)
    ids: list[int] = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise fail_entry(position, "a shard number (an integer from 0)", item)
        if item not in ids:
            ids.append(item)
    return tuple(sorted(ids))


def redis_url(value: Any) -> str:
    expected = f'a redis://, rediss:// or unix:// URL such as "{DEFAULT_REDIS_URL}"'
    if not isinstance(value, str):
        raise fail(expected, value)
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise fail(expected, value) from None
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "unix") or any(c.isspace() for c in url):
        raise fail(expected, value)
    if scheme != "unix" and not parts.hostname:
        raise fail(expected, value)
    if scheme == "unix" and not parts.path:
        raise fail(f"{expected} (unix:// needs the socket's path)", value)
    if parts.password is not None or "password" in (name.lower() for name in parse_qs(parts.query)):
        raise invalid(
            f"must not contain a password; set the {REDIS_PASSWORD_ENV} environment variable instead"
        )
    return url


#: A password in a URL's user part or in its ``password=`` parameter.
_URL_PASSWORD = re.compile(r"(?i)(?<=://)([^:/@?#\s]*):[^@/?#\s]*@|(?<=[?&])(password=)[^&#\s]*")


def redact(text: str) -> str:
    """``text`` with any password in a URL it contains replaced by ``***`` (for logs)."""
    return _URL_PASSWORD.sub(lambda m: f"{m[1]}:***@" if m[2] is None else f"{m[2]}***", text)


def queue_name(value: Any) -> str:
    if not isinstance(value, str) or not QUEUE_NAME_RE.fullmatch(value.strip()):
        raise fail("1 to 64 letters, digits, '.', '_' or '-'", value)
    return value.strip()
