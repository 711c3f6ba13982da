"""Blind A/B comparisons (``/compare``): which model made which take, the votes, the reveal, and
each server's tally.

A comparison is one job whose two generations are take A (variation 0) and take B (variation
1). Until the reveal their ``model`` column holds :data:`HIDDEN_MODEL`, so no history card,
gallery entry or export can name the models early; the reveal writes the real names there (and
into gallery entries copied from them) in the same transaction that closes the vote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.storage.database import Database, Transaction
from bot.storage.job_rows import Job

#: What a take's ``generations.model`` says until its comparison is revealed.
HIDDEN_MODEL = "hidden until the comparison is revealed"
SIDES = ("A", "B")
TIE = "tie"


class VotingClosed(Exception):
    """The comparison was revealed already: its votes are final."""


@dataclass(frozen=True, slots=True)
class CompareState:
    """One comparison as its message shows it."""

    job_id: int
    guild_id: int | None
    user_id: int
    preset: str | None
    models: tuple[str, str]
    """The models of takes A and B (shown only once revealed)."""
    votes: tuple[int, int]
    """Votes for A and for B."""
    revealed_at: float | None
    winner: str | None
    """"A", "B" or "tie" once revealed."""

    @property
    def revealed(self) -> bool:
        return self.revealed_at is not None

    @property
    def total(self) -> int:
        return sum(self.votes)


@dataclass(frozen=True, slots=True)
class Vote:
    """What one press of a vote button did."""

    side: str
    previous: str | None
    """The voter's earlier choice (None: first vote)."""
    state: CompareState
    revealed_now: bool
    """This vote reached the reveal count."""


@dataclass
class ModelTally:
    """How one model fared in a server's revealed comparisons (of one preset, or all)."""

    model: str
    wins: int = 0
    ties: int = 0
    comparisons: int = 0


@dataclass
class PresetTally:
    """A server's revealed comparisons of one preset (None: words no preset matched)."""

    preset: str | None
    comparisons: int = 0
    models: dict[str, ModelTally] = field(default_factory=dict)

    def add(self, models: Sequence[str], winner: str | None) -> None:
        self.comparisons += 1
        for side, model in zip(SIDES, models, strict=True):
            tally = self.models.setdefault(model, ModelTally(model))
            tally.comparisons += 1
            tally.wins += winner == side
            tally.ties += winner == TIE

    def ranked(self) -> list[ModelTally]:
        """Most wins first (then fewer comparisons, then the name)."""
        return sorted(self.models.values(), key=lambda t: (-t.wins, t.comparisons, t.model.casefold()))


def winner_of(votes: tuple[int, int]) -> str:
    if votes[0] == votes[1]:
        return TIE
    return SIDES[0] if votes[0] > votes[1] else SIDES[1]


class CompareStore:
    """Comparisons, votes and reveals; every check-and-change in one transaction."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def ensure(self, job: Job) -> None:
        """Record the comparison ``job`` renders (a no-op when it is recorded already)."""
        a, b = (request.model or "" for request in job.recipe.compare)
        await self._db.execute(
            "INSERT OR IGNORE INTO compares "
            "(job_id, guild_id, user_id, preset, model_a, model_b, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job.id, job.guild_id, job.user_id, job.request.preset, a, b, self._clock()),
        )

    async def get(self, job_id: int) -> CompareState | None:
        async with self._db.transaction() as tx:
            return await _state(tx, job_id)

    async def vote(self, job_id: int, user_id: int, side: str, *, reveal_after: int) -> Vote:
        """``user_id`` votes for ``side`` (their earlier vote, if any, is replaced).

        Raises :class:`VotingClosed` once revealed, ``LookupError`` for an unknown comparison.
        With ``reveal_after`` > 0 the vote that brings the count there reveals the models.
        """
        if side not in SIDES:
            raise ValueError(f"side must be A or B, not {side!r}")
        async with self._db.transaction() as tx:
            state = await _state(tx, job_id)
            if state is None:
                raise LookupError(f"no comparison {job_id}")
            if state.revealed:
                raise VotingClosed(job_id)
            row = await tx.fetchone(
                "SELECT side FROM compare_votes WHERE job_id = ? AND user_id = ?", (job_id, user_id)
            )
            previous = row["side"] if row is not None else None
            await tx.execute(
                "INSERT INTO compare_votes (job_id, user_id, side, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (job_id, user_id) "
                "DO UPDATE SET side = excluded.side, voted_at = excluded.voted_at",
                (job_id, user_id, side, self._clock()),
            )
            state = await _state(tx, job_id)
            assert state is not None
            reveal = reveal_after > 0 and state.total >= reveal_after
            if reveal:
                state = await _reveal(tx, state, self._clock())
        return Vote(side, previous, state, reveal)

    async def reveal(self, job_id: int) -> CompareState:
        """Reveal the models and settle the winner from the votes (idempotent).

        Raises ``LookupError`` for an unknown comparison.
        """
        async with self._db.transaction() as tx:
            state = await _state(tx, job_id)
            if state is None:
                raise LookupError(f"no comparison {job_id}")
            if state.revealed:
                return state
            return await _reveal(tx, state, self._clock())

    async def tally(self, guild_id: int) -> list[PresetTally]:
        """A server's revealed comparisons, by preset (most compared first) — what ``/compare stats``
        shows. The first entry, preset ``"*"``, counts every preset together."""
        rows = await self._db.fetchall(
            "SELECT preset, model_a, model_b, winner FROM compares "
            "WHERE guild_id = ? AND revealed_at IS NOT NULL ORDER BY job_id",
            (guild_id,),
        )
        overall = PresetTally("*")
        presets: dict[str | None, PresetTally] = {}
        for row in rows:
            models = (row["model_a"], row["model_b"])
            overall.add(models, row["winner"])
            presets.setdefault(row["preset"], PresetTally(row["preset"])).add(models, row["winner"])
        if not rows:
            return []
        by_use = sorted(presets.values(), key=lambda t: (-t.comparisons, t.preset or "~"))
        return [overall, *by_use]


async def _state(tx: Transaction, job_id: int) -> CompareState | None:
    row = await tx.fetchone("SELECT * FROM compares WHERE job_id = ?", (job_id,))
    if row is None:
        return None
    counts = {
        r["side"]: r["n"]
        for r in await tx.fetchall(
            "SELECT side, COUNT(*) AS n FROM compare_votes WHERE job_id = ? GROUP BY side", (job_id,)
        )
    }
    return CompareState(
        job_id=row["job_id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        preset=row["preset"],
        models=(row["model_a"], row["model_b"]),
        votes=(counts.get("A", 0), counts.get("B", 0)),
        revealed_at=row["revealed_at"],
        winner=row["winner"],
    )


async def _reveal(tx: Transaction, state: CompareState, now: float) -> CompareState:
    winner = winner_of(state.votes)
    await tx.execute(
        "UPDATE compares SET revealed_at = ?, winner = ? WHERE job_id = ?", (now, winner, state.job_id)
    )
    for index, model in enumerate(state.models):
        # The takes' own rows, and gallery entries copied from them, now name their model.
        await tx.execute(
            "UPDATE generations SET model = ? WHERE job_id = ? AND variation_index = ?",
            (model, state.job_id, index),
        )
        await tx.execute(
            "UPDATE gallery_entries SET model = ? WHERE generation_id IN "
            "(SELECT id FROM generations WHERE job_id = ? AND variation_index = ?)",
            (model, state.job_id, index),
        )
    return CompareState(
        state.job_id,
        state.guild_id,
        state.user_id,
        state.preset,
        state.models,
        state.votes,
        now,
        winner,
    )
