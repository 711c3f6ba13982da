"""``bench.card_size``: the figures come from the bot's own card code, and say what the issue asks."""

from __future__ import annotations

from bench.card_size import measure


def test_one_job_leaves_one_compact_message() -> None:
    plain = measure("rain with crickets", [10.0])
    assert plain["public messages"] == 1 and plain["fields"] == 0 and plain["content chars"] == 0
    assert plain["embed chars"] < plain["details chars (private)"]  # the rest is one click away
    scene = measure("rain:0.8 + distant thunder:0.4 + crickets", [10.0])
    assert scene["fields"] == 0 and scene["embed chars"] < 200
