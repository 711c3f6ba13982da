"""User text shown as typed (no links, headings, mentions, code) and cut to Discord's limits."""

from __future__ import annotations

import re

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ui.text import (
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    clip,
    escape,
    fit_embed,
    plain,
    shown,
)

ZWSP = "\u200b"

#: Markdown and mention syntax, mixed with ordinary words, for the property test.
TRICKY = st.lists(
    st.sampled_from([*"[]()<>@#-*_~|`\\:/ \nah1&!", "https://", "@everyone", "@here", "<@12>", "\n# "]),
    max_size=200,
).map("".join)


def inert(text: str) -> bool:
    """No clickable link, masked link, mention, heading, quote, list, code or emphasis survives."""
    unescaped = re.sub(r"\\.", "x", text)  # every escaped character stands for a plain one
    return (
        "://" not in text
        and "@everyone" not in text
        and "@here" not in text
        and not re.search(r"[*_~|`\[\]<]", unescaped)
        and not re.search(r"(?m)^\s*[#>\-+]", unescaped)
    )


def test_masked_links_and_bare_links_are_not_clickable() -> None:
    text = escape("[Claim Nitro](https://evil.example/gift) rain")
    assert text == "\\[Claim Nitro\\](https:" + ZWSP + "//evil.example/gift) rain"
    # Two masked links on one line: each is broken (escape_markdown alone misses the second).
    assert escape("[a](http://x.y) and [b](http://z.w)").count("\\[") == 2


def test_headings_quotes_and_lists_at_line_start() -> None:
    assert escape("# big rain") == "\\# big rain"
    assert escape("## rain\n> quote\n- item\n-# small") == "\\## rain\n\\> quote\n\\- item\n\\-# small"
    assert escape("rain - thunder # 2 > 1") == "rain - thunder # 2 > 1"  # mid-line: plain text


def test_mentions_never_ping_or_link() -> None:
    assert escape("@everyone @here") == f"@{ZWSP}everyone @{ZWSP}here"
    assert escape("<@123456789012345678>") == f"\\<@{ZWSP}123456789012345678>"
    assert escape("<#123456789012345678> <@&5> </ambient:9> <t:1:R>") == (
        f"\\<#123456789012345678> \\<@{ZWSP}&5> \\</ambient:9> \\<t:1:R>"
    )


def test_code_fences_emphasis_and_spoilers() -> None:
    assert escape("```py\nprint(1)```") == "\\`\\`\\`py\nprint(1)\\`\\`\\`"
    assert escape("**bold** __u__ ~~s~~ ||spoiler|| back\\slash") == (
        "\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\| back\\\\slash"
    )


def test_plain_words_are_unchanged() -> None:
    assert escape("rain on a tin roof, 2:30 at night (calm)") == "rain on a tin roof, 2:30 at night (calm)"


@settings(max_examples=300)
@given(TRICKY, st.integers(1, 500))
def test_shown_text_is_inert_and_within_its_limit(text: str, limit: int) -> None:
    assert inert(escape(text))
    cut = shown(text, limit)
    assert len(cut) <= limit
    assert len(plain(text, limit)) <= limit


def test_clip() -> None:
    assert clip("rain", 4) == "rain"
    assert clip("rainy", 4) == "rai…"
    assert clip("rain", 0) == ""


def test_fit_embed_keeps_every_limit() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for index in range(30):
        embed.add_field(name=f"field {index}", value="v" * 2000 if index % 2 else " ")
    embed.set_footer(text="f" * 3000)
    fit_embed(embed)
    assert len(embed) <= EMBED_TOTAL_MAX
    assert len(embed.title or "") <= 256 and len(embed.footer.text or "") <= 2048
    assert len(embed.fields) == FIELDS_MAX
    assert all(0 < len(f.value or "") <= FIELD_VALUE_MAX and (f.value or "").strip() for f in embed.fields)


def test_fit_embed_leaves_a_small_embed_alone() -> None:
    embed = discord.Embed(title="Rain", description="calm").add_field(name="Seed", value="7")
    before = embed.to_dict()
    assert fit_embed(embed).to_dict() == before
