"""User text in the bot's messages: shown as typed, and cut to fit Discord's limits by construction.

Everything a user typed (prompts, layer names, display names, server names) may contain
markdown, links or mentions. :func:`escape` neutralises them, so ``[Claim Nitro](https://…)``
shows as those characters instead of a link in the bot's own message. :func:`clip` and the
``fit_*`` helpers keep every text within the limit Discord enforces for where it goes, so a
post is never refused after the work is done.
"""

from __future__ import annotations

import re

import discord

#: Discord's limits (characters) on what a message carries.
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
FIELDS_MAX = 25
EMBED_TOTAL_MAX = 6000
OPTION_LABEL_MAX = 100
OPTION_DESCRIPTION_MAX = 100
MODAL_TITLE_MAX = 45
INPUT_LABEL_MAX = 45

#: Most of a prompt one line of message content carries ("🎧 Here is **…**"): an escaped prompt
#: at its length limit fits with room for the rest of the line and a mention before it.
PROMPT_IN_CONTENT = 1000

ELLIPSIS = "…"

# Characters that start or end markdown anywhere in a line: emphasis, code, spoilers,
# strikethrough, masked links, and "<" which opens mentions, channels, timestamps and commands.
_INLINE = re.compile(r"[\\*_~|`\[\]<]")
# Characters that are markdown only at the start of a line: headings, quotes, lists, subtext.
_LINE_START = re.compile(r"^(\s*)([#>\-+])", re.MULTILINE)
# "scheme://" makes a clickable link; a zero-width space after the colon keeps it plain text.
_LINK = re.compile(r":(?=//)")
# "@everyone", "@here" and raw user/role ids still highlight (or ping) without the brackets.
_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)")
_ZWSP = "\u200b"


def escape(text: str) -> str:
    """``text`` shown exactly as typed: no markdown, no links, no mentions.

    Markdown characters get a backslash (Discord shows the character itself), links lose the
    ability to be clicked, mentions of people, roles, channels and everyone become plain text.
    """
    text = _INLINE.sub(lambda m: "\\" + m.group(0), text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _LINK.sub(":" + _ZWSP, text)
    return _MENTION.sub("@" + _ZWSP, text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shown(text: str, limit: int) -> str:
    """User text escaped, then cut to ``limit`` (cut after escaping, so the limit holds)."""
    return clip(escape(text), limit)


def plain(text: str, limit: int) -> str:
    """User text where Discord renders no markdown (select options, footers, form defaults):
    whitespace collapsed and cut to ``limit``."""
    return clip(" ".join(text.split()), limit)


def fit_content(text: str) -> str:
    """Message content within Discord's 2,000 characters."""
    return clip(text, CONTENT_MAX)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Bring ``embed`` within every limit Discord enforces; returns the same embed.

    Each part is cut to its own limit (title, description, 25 fields, names, values, footer,
    author); if the whole still exceeds 6,000 characters, the longest parts are shortened
    until it fits. Empty field values, which Discord refuses, become a dash.
    """
    if embed.title:
        embed.title = clip(embed.title, TITLE_MAX)
    if embed.description:
        embed.description = clip(embed.description, DESCRIPTION_MAX)
    fields = embed.fields[:FIELDS_MAX]
    embed.clear_fields()
    for item in fields:
        embed.add_field(
            name=clip(item.name or "—", FIELD_NAME_MAX),
            value=clip(item.value if item.value and item.value.strip() else "—", FIELD_VALUE_MAX),
            inline=bool(item.inline),
        )
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER_MAX), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=clip(embed.author.name, AUTHOR_MAX), url=embed.author.url, icon_url=embed.author.icon_url
        )
    while (excess := len(embed) - EMBED_TOTAL_MAX) > 0:
        _shorten_longest(embed, excess)
    return embed


def _shorten_longest(embed: discord.Embed, excess: int) -> None:
    """Cut the longest shortenable part of ``embed`` by ``excess`` characters (keeping one)."""
    parts: list[tuple[int, int]] = [(len(embed.description or ""), -1)]
    parts += [(len(item.value or ""), index) for index, item in enumerate(embed.fields)]
    length, index = max(parts)
    keep = max(1, length - excess)
    if index < 0:
        embed.description = clip(embed.description or "", keep)
    else:
        item = embed.fields[index]
        embed.set_field_at(
            index, name=item.name or "—", value=clip(item.value or "", keep), inline=item.inline
        )
    if length <= 1:  # nothing left to shorten: drop the last field (never reached with real cards)
        embed.remove_field(len(embed.fields) - 1)
