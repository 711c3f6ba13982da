"""JobService's new takes of stored soundscapes: real SQLite stores, a fake Discord side."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.jobs.admission import Limits
from bot.jobs.service import JobService
from bot.storage import Database
from generation.errors import RequestError
from generation.models import ModelCatalog
from generation.recipes.recipe import build_order
from tests.bot.jobs.test_worker import Rig

LIMITS = Limits(
    max_pending_per_user=3, max_queue=100, cooldown_s=0.0, max_job_cost=70.0, max_user_cost=100.0,
    remixes_per_hour=30,
)  # fmt: skip
CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao"])
_ids = itertools.count(1)


def click(user_id: int = 7) -> Any:
    """A button press as the service reads it."""
    return SimpleNamespace(
        id=next(_ids), user=SimpleNamespace(id=user_id, display_name=f"user{user_id}"), guild_id=10,
        channel_id=20,
    )  # fmt: skip


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[Rig, JobService]]:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        rig = Rig(db, tmp_path)  # its scheduler is not started: queued jobs stay queued
        service = JobService(
            jobs=rig.jobs, queue=rig.queue, scheduler=rig.scheduler, messenger=rig.messenger,  # type: ignore[arg-type]
            limits=LIMITS, max_variations=4, candidates=rig.candidates, stems=rig.stems,
            answers=rig.answers, catalog=CATALOG,
        )  # fmt: skip
        yield rig, service


async def test_a_stored_scene_whose_job_is_gone_is_rerolled_with_each_layers_model(
    rig: tuple[Rig, JobService],
) -> None:
    jobs, service = rig[0].jobs, rig[1]
    # Made with /ambient model:tiny-sao, its first layer on tiny: the row says "tiny + tiny-sao";
    # its job row is gone (a gallery entry; a history row's job id is then empty).
    stored, made = build_order("rain@tiny:0.8 + crickets:0.5", model="tiny-sao", catalog=CATALOG, seed=3)
    assert [r.model for r in made.layer_requests] == ["tiny", "tiny-sao"]
    take = await service.reroll_stored(click(), stored, parent_job_id=None, made_by="tiny + tiny-sao")
    queued = await jobs.get(take.id)
    assert queued is not None and queued.id in rig[0].queue
    assert [r.model for r in queued.recipe.layer_requests] == ["tiny", "tiny-sao"]
    assert [layer.model for layer in queued.recipe.layers] == ["tiny", None]
    assert (
        queued.request.seed != stored.seed and queued.recipe.layer_requests[1].seed == queued.request.seed + 1
    )


async def test_a_stored_take_of_a_model_no_longer_loaded_is_refused_and_nothing_is_queued(
    rig: tuple[Rig, JobService],
) -> None:
    service = rig[1]
    other = ModelCatalog.from_ids(["tiny", "tiny-sao", "tiny-sa3"])
    plain, _ = build_order("ocean waves", model="tiny-sa3", catalog=other, seed=1)
    with pytest.raises(
        RequestError,
        match=re.escape("The model 'tiny-sa3' isn't loaded here. Choose one of: tiny, tiny-sao."),
    ):
        await service.reroll_stored(click(), plain, made_by="tiny-sa3")
    scene, _ = build_order("rain + crickets@tiny-sa3", catalog=other, seed=1)
    with pytest.raises(RequestError, match=r"^Layer 2: The model 'tiny-sa3' isn't loaded here\."):
        await service.reroll_stored(click(), scene, made_by="tiny + tiny-sa3")
    assert len(rig[0].queue) == 0 and await rig[0].jobs.active() == []
