"""Client-side glue: point an unmodified discord.py at a stand-in.

discord.py takes REST URLs from ``discord.http.Route.BASE``. A non-sharded ``Client`` never
asks ``GET /gateway/bot``: it connects straight to ``DiscordWebSocket.DEFAULT_GATEWAY`` (and
falls back to it after an INVALID_SESSION), so both class attributes must be redirected.
Only ``AutoShardedClient`` uses the URL from ``GET /gateway/bot``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def point_discord_py(api_base_url: str, gateway_url: str) -> tuple[str, object]:
    """Redirect discord.py's REST base and default gateway; returns the previous values."""
    import discord.gateway
    import discord.http
    import yarl

    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


@contextmanager
def discord_py_pointed_at(api_base_url: str, gateway_url: str) -> Iterator[None]:
    """Temporarily point discord.py at a stand-in (e.g. ``standin.api_base_url``, ``standin.gateway_url``)."""
    import discord.gateway
    import discord.http

    base, gateway = point_discord_py(api_base_url, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway  # type: ignore[assignment]
