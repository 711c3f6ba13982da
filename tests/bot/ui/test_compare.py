"""The blind comparison's texts: nothing names a model before the reveal; user text is escaped."""

from __future__ import annotations

import dataclasses
import json

from bot.storage import CompareState, PresetTally, Vote
from bot.ui.compare import compare_content, compare_embed, stats_embed, take_filename, vote_answer
from generation.models import ModelCatalog
from generation.recipes.compare_order import build_compare
from tests.bot.jobs.test_visibility import job

CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao"])
WORDS = "@everyone **rain** https://example.com"


def comparison_job():  # type: ignore[no-untyped-def]
    request, recipe = build_compare(WORDS, CATALOG, seed=9, duration=3.0)
    return dataclasses.replace(
        job(5, 1, 10, WORDS), kind="compare", request=request, recipe=recipe, variations=2
    )


def state(revealed: bool, votes: tuple[int, int] = (1, 2)) -> CompareState:
    return CompareState(
        5, 10, 1, "rain", ("tiny", "tiny-sao"), votes, 1.0 if revealed else None, "B" if revealed else None
    )


def test_the_blind_post_names_no_model_and_escapes_the_words() -> None:
    compared = comparison_job()
    blind = compare_embed(compared, state(False), reveal_after=5)
    shown = json.dumps(blind.to_dict()) + compare_content(compared, mention=True)
    assert "tiny" not in shown.lower() and "audio" not in shown.lower()
    assert "@everyone" not in shown.replace("@\u200beveryone", "") and "https://" not in shown
    assert "3 votes" in json.dumps(blind.to_dict()) and "revealed after 5 votes" in blind.description
    name = take_filename(compared.request, "B")
    assert name.endswith("-9-B.mp3") and "tiny" not in name


def test_the_reveal_names_both_models_and_the_winner() -> None:
    revealed = compare_embed(comparison_job(), state(True), reveal_after=5).to_dict()
    fields = {f["name"]: f["value"] for f in revealed["fields"]}
    assert fields["Take A"] == "tiny — 1 vote" and fields["Take B"] == "tiny-sao — 2 votes 🏆"
    assert fields["Result"] == "Take B wins: tiny-sao, 2 to 1."


def test_vote_answers_and_stats() -> None:
    blind = state(False)
    assert vote_answer(Vote("A", None, blind, False)).startswith("🗳️ Your vote for take A is in")
    assert vote_answer(Vote("A", "A", blind, False)) == "You had already voted for take A."
    assert vote_answer(Vote("B", "A", blind, True)).endswith("the models are revealed.")
    tally = PresetTally("*")
    tally.add(("tiny", "tiny-sao"), "B")
    tally.add(("tiny-sao", "tiny"), "tie")
    embed = stats_embed("**My** server", [tally]).to_dict()
    assert embed["title"] == "Blind comparisons in \\*\\*My\\*\\* server"
    value = embed["fields"][0]["value"]
    assert value.splitlines() == [
        "2 comparisons",
        "**tiny-sao** — won 1 of 2 (1 tied)",
        "**tiny** — won 0 of 2 (1 tied)",
    ]
    assert "No comparison" in stats_embed("x", []).to_dict()["description"]
