"""A local Discord stand-in (REST API v10 + gateway) for end-to-end tests of a discord.py bot.

See README.md for usage; ``discordpy.point_discord_py`` redirects discord.py to a stand-in.
"""

from __future__ import annotations

from .commands import FileOption
from .discordpy import discord_py_pointed_at, point_discord_py
from .errors import DiscordHTTPError, StandInUsageError
from .interactions import InteractionHandle, InteractionResponse, OriginalEdit
from .permissions import Perm
from .recording import FaultRule, GatewayFrame, RecordedFile, RecordedRequest
from .standin import DiscordStandIn
from .state import Channel, ChannelType, Guild, Member, Role, User

__all__ = [
    "Channel",
    "ChannelType",
    "DiscordHTTPError",
    "DiscordStandIn",
    "FaultRule",
    "FileOption",
    "GatewayFrame",
    "Guild",
    "InteractionHandle",
    "InteractionResponse",
    "Member",
    "OriginalEdit",
    "Perm",
    "RecordedFile",
    "RecordedRequest",
    "Role",
    "StandInUsageError",
    "User",
    "discord_py_pointed_at",
    "point_discord_py",
]
