"""The Discord token: its shape (offline), then, when the network allows, ``GET /users/@me`` and
the permissions the invite gave the bot in its servers. The token is never printed."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import aiohttp

from bot.config import TOKEN_ENV, Config
from bot.doctor.report import Result, failed, passed

API_TIMEOUT_S = 5.0
#: The permissions the bot uses (README, "Invite it"), by their names in Discord's client.
PERMISSIONS = {
    "Add Reactions": 1 << 6,
    "View Channels": 1 << 10,
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Read Message History": 1 << 16,
    "Connect": 1 << 20,
    "Speak": 1 << 21,
}
INVITE_PERMISSIONS = sum(PERMISSIONS.values())
ADMINISTRATOR = 1 << 3
#: Three base64url parts: the bot's id, a timestamp, a signature.
TOKEN_RE = re.compile(r"([A-Za-z0-9_-]{16,})\.([A-Za-z0-9_-]{4,})\.([A-Za-z0-9_-]{20,})")
_PORTAL = "the Developer Portal (your application → Bot → Reset Token)"


def token_shape(token: str | None) -> Result:
    what = "Discord token"
    if token is None or not token.strip():
        return failed(what, f"{TOKEN_ENV} is not set", f"export {TOKEN_ENV}=… with the token from {_PORTAL}")
    token = token.strip()
    if token.lower().startswith("bot "):
        return failed(what, f'{TOKEN_ENV} starts with "Bot "', "set the token alone; the bot adds the prefix")
    match = TOKEN_RE.fullmatch(token)
    if match is None:
        return failed(
            what,
            f"{TOKEN_ENV} ({len(token)} characters) is not shaped like a bot token (3 dot-separated parts)",
            f"copy it again from {_PORTAL}, without quotes or spaces",
        )
    user_id = _user_id(match.group(1))
    if user_id is None:
        return failed(
            what, f"the first part of {TOKEN_ENV} is not a bot's id", f"copy it again from {_PORTAL}"
        )
    return passed(what, f"shaped like a bot token (bot id {user_id}; from {TOKEN_ENV}, not shown)")


def _user_id(part: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


async def discord_api(config: Config, token: str) -> list[Result]:
    base = config.discord.api_base_url
    headers = {"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (ambientgen doctor, 1)"}
    timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_S)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        try:
            status, me = await _get(session, f"{base}/users/@me")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return [
                failed(
                    "Discord API",
                    f"{base} is unreachable ({type(exc).__name__}), so the token is unverified",
                    "check this machine's network and firewall, or [discord] api_base_url",
                )
            ]
        if status == 401:
            return [
                failed(
                    "Discord API", "GET /users/@me: 401, Discord refused the token", f"reset it in {_PORTAL}"
                )
            ]
        if status != 200 or not isinstance(me, dict):
            return [
                failed("Discord API", f"GET /users/@me answered {status}", "try again; see discordstatus.com")
            ]
        if not me.get("bot"):
            return [
                failed(
                    "Discord API", "the token is a user's, not a bot's", f"use the bot token from {_PORTAL}"
                )
            ]
        results = [passed("Discord API", f"token accepted: bot {me.get('username')} (id {me.get('id')})")]
        try:
            results.append(await _invite(session, base, config, me))
        except (aiohttp.ClientError, TimeoutError) as exc:
            results.append(
                failed("invite", f"could not read the bot's servers ({type(exc).__name__})", "try again")
            )
    return results


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as response:
        body = await response.json(content_type=None) if response.status < 500 else None
        return response.status, body


def invite_url(application_id: str) -> str:
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id}"
        f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
    )


async def _invite(session: aiohttp.ClientSession, base: str, config: Config, me: dict[str, Any]) -> Result:
    """The permissions the bot holds in each of its servers: ``[discord] command_guilds`` when set
    (computed from its roles), else every server it is in (``GET /users/@me/guilds``)."""
    invite = invite_url(str(me.get("id")))
    guilds: list[tuple[str, int | None]] = []
    if config.discord.command_guilds:
        for guild_id in config.discord.command_guilds:
            guilds.append(await _guild_permissions(session, base, guild_id, str(me.get("id"))))
    else:
        status, listed = await _get(session, f"{base}/users/@me/guilds")
        if status != 200 or not isinstance(listed, list):
            return failed(
                "invite",
                f"GET /users/@me/guilds answered {status}",
                "list your server in [discord] command_guilds",
            )
        guilds = [(str(g.get("name")), int(g.get("permissions") or 0)) for g in listed if isinstance(g, dict)]
    if not guilds:
        return failed("invite", "the bot is in no server yet", f"invite it: {invite}")
    problems = []
    for name, held in guilds:
        if held is None:
            problems.append(f"not a member of {name}")
        elif not held & ADMINISTRATOR and (
            lacking := [p for p, bit in PERMISSIONS.items() if not held & bit]
        ):
            problems.append(f"{name} lacks {', '.join(lacking)}")
    if problems:
        return failed(
            "invite", "; ".join(problems)[:300], f"grant them to the bot's role, or invite it again: {invite}"
        )
    return passed("invite", f"{len(PERMISSIONS)} permissions held in {len(guilds)} server(s)")


async def _guild_permissions(
    session: aiohttp.ClientSession, base: str, guild_id: int, bot_id: str
) -> tuple[str, int | None]:
    """(the server's name, the bot's server-wide permissions) — None when it is not a member."""
    status, guild = await _get(session, f"{base}/guilds/{guild_id}")
    if status != 200 or not isinstance(guild, dict):
        return f"server {guild_id}", None
    name = str(guild.get("name") or guild_id)
    status, member = await _get(session, f"{base}/guilds/{guild_id}/members/{bot_id}")
    if status != 200 or not isinstance(member, dict):
        return name, None
    if str(guild.get("owner_id")) == bot_id:
        return name, ADMINISTRATOR
    roles = guild.get("roles")
    if not isinstance(roles, list):
        status, roles = await _get(session, f"{base}/guilds/{guild_id}/roles")
    mine = {str(r) for r in member.get("roles") or []} | {str(guild_id)}  # @everyone's id is the server's
    held = 0
    for role in roles if isinstance(roles, list) else []:
        if isinstance(role, dict) and str(role.get("id")) in mine:
            held |= int(role.get("permissions") or 0)
    return name, held
