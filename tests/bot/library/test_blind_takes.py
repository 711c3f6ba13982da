"""A blind comparison's takes in history and the gallery: nothing model-specific until the reveal.

Each model gets its own prompt craft (wording, negative prompt, steps, guidance), so a take's card,
export row or new take would tell which model made it; until the reveal they show none of it.
"""

from __future__ import annotations

import json

import pytest

from bot.errors import UserError
from bot.library import Library, export_history
from bot.library.service import BLIND, check_revealed
from bot.storage import HIDDEN_MODEL, CompareStore, Database, Mp3Files
from bot.ui.library import BLIND_DESCRIPTION, gallery_entry_embed, history_entry_embed
from generation.recipes.recipe import Recipe
from tests.bot.storage.conftest import FakeClock, make_request, new_job
from tests.bot.storage.factories import Stores

#: Two takes as two models make them: the same words, preset, seed and duration; their own craft.
TAKES = (
    make_request(model="tiny-sao", prompt="rain, steady rain, stereo, 44.1 kHz", steps=100, guidance=7.0),
    make_request(
        model="tiny", prompt="rain, distinct raindrops", steps=50, guidance=6.0, negative_prompt="x"
    ),
)
SPECIFIC = ("stereo", "raindrops", "100", "Steps", "Guidance", "tiny")


def _place(guild_id: int | None, channel_id: int) -> str:
    return "Server · <#1>"


async def _comparison(stores: Stores) -> tuple[int, list[int]]:
    job = await new_job(
        stores.jobs, variations=2, kind="compare", request=TAKES[0], recipe=Recipe(compare=TAKES)
    )
    ids = []
    for index, take in enumerate(TAKES):
        row = await stores.generations.add(
            job, index, take, model=HIDDEN_MODEL, mp3_path=f"{index}.mp3", mp3_sha256=str(index) * 64,
            mp3_bytes=10, lufs=-18.0, gen_seconds=1.0,
        )  # fmt: skip
        ids.append(row.id)
    return job.id, ids


def _text(embed) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(embed.to_dict())


async def test_history_cards_and_export_show_nothing_model_specific_until_the_reveal(
    stores: Stores, db: Database, clock: FakeClock
) -> None:
    job_id, ids = await _comparison(stores)
    entries = [await stores.history.get(i) for i in ids]
    cards = [history_entry_embed(e, _place) for e in entries]  # type: ignore[arg-type]
    for card in cards:
        assert card.description == BLIND_DESCRIPTION
        assert [f.name for f in card.fields][:4] == ["Preset", "Duration", "Seed", "Model"]
        assert not any(word in _text(card) for word in SPECIFIC), _text(card)
    # Apart from the row's own number, the two takes' cards are the same.
    assert [f.value for f in cards[0].fields] == [f.value for f in cards[1].fields]
    records = json.loads(export_history(entries, "json"))  # type: ignore[arg-type]
    for record in records:
        assert [
            record[k] for k in ("expanded_prompt", "negative_prompt", "steps", "guidance", "scheduler")
        ] == [None] * 5
        assert record["model"] == HIDDEN_MODEL

    await CompareStore(db, clock).ensure(await stores.jobs.get(job_id))  # type: ignore[arg-type]
    await CompareStore(db, clock).reveal(job_id)
    revealed = await stores.history.get(ids[0])
    card = history_entry_embed(revealed, _place)  # type: ignore[arg-type]
    assert "steady rain, stereo" in (card.description or "")
    values = {f.name: f.value for f in card.fields}
    assert (values["Steps"], values["Guidance"], values["Model"]) == ("100", "7", "tiny-sao")
    assert json.loads(export_history([revealed], "json"))[0]["steps"] == 100  # type: ignore[list-item]


async def test_a_new_take_of_a_blind_take_waits_for_the_reveal(
    stores: Stores, db: Database, clock: FakeClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    job_id, ids = await _comparison(stores)
    library = Library(history=stores.history, gallery=stores.gallery, files=Mp3Files(tmp_path))
    with pytest.raises(UserError, match=r"^This take is one side of a comparison that isn't revealed yet"):
        await library.own_revealed_entry(1, ids[1])
    with pytest.raises(UserError) as refused:
        check_revealed(HIDDEN_MODEL)
    assert str(refused.value) == BLIND
    await CompareStore(db, clock).ensure(await stores.jobs.get(job_id))  # type: ignore[arg-type]
    await CompareStore(db, clock).reveal(job_id)
    assert (await library.own_revealed_entry(1, ids[1])).generation.model == "tiny"


async def test_a_gallery_card_of_a_blind_take_hides_the_models_wording(stores: Stores) -> None:
    _job_id, ids = await _comparison(stores)
    added = await stores.gallery.add(10, ids, user_id=1, user_name="alice")
    assert len(added) == 2
    for one in added:
        card = gallery_entry_embed(one.entry)
        assert card.description == BLIND_DESCRIPTION
        assert not any(word in _text(card) for word in SPECIFIC), _text(card)
