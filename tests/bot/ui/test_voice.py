"""The now-playing card: current state, safe titles, within Discord's limits."""

from __future__ import annotations

from bot.storage.players import PlayerState, Track, TrackKind
from bot.ui.voice import missing_permissions, now_playing_embed, sleep_answer, stopped_embed


def state(title: str = "rain", **overrides: object) -> PlayerState:
    values: dict[str, object] = {
        "guild_id": 1,
        "voice_channel_id": 2,
        "text_channel_id": 3,
        "track": Track(TrackKind.GALLERY, 4, title, "mp3/x.mp3", True),
        "volume": 70,
        "started_by": 5,
    }
    values.update(overrides)
    return PlayerState(**values)  # type: ignore[arg-type]


def test_the_card_shows_what_plays_and_how() -> None:
    embed = now_playing_embed(state(sleep_at=1_700_000_000.4))
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "🔊 rain"
    assert "Playing" in (embed.description or "") and "<#2>" in (embed.description or "")
    assert fields == {
        "Volume": "70 %",
        "Sleep timer": "<t:1700000000:t> (<t:1700000000:R>)",
        "From": "the gallery, started by <@5>",
    }
    paused = now_playing_embed(state(paused=True))
    assert "Paused" in (paused.description or "") and {f.value for f in paused.fields} >= {"off"}


def test_titles_never_ping_never_format_and_fit() -> None:
    hostile = "@everyone **loud** <@123456789012345678> " + "x" * 400
    embed = now_playing_embed(state(hostile))
    assert embed.title is not None and len(embed.title) <= 256
    assert (
        "@everyone" not in embed.title
        and "<@123456789012345678>" not in embed.title
        and "**loud**" not in embed.title
    )
    assert len(embed) <= 6000
    assert stopped_embed(state(hostile), "bye").title == embed.title


def test_answers() -> None:
    assert "**Connect** and **Speak** permissions" in missing_permissions(9, ["Connect", "Speak"])
    assert "**Speak** permission there" in missing_permissions(9, ["Speak"])
    assert "30 min (fading out over its last 30 s)" in sleep_answer(1800)
    assert "off" in sleep_answer(None)
