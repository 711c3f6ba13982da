"""Which GPU worker may take which batch: one SAQ queue per set of models, and room per model.

Workers may serve different models (each its own ``[model] id`` and ``also``). A batch needs
every model it renders with: its requests' model, each layer's, both takes of a comparison
(:meth:`~generation.recipes.order.RenderJob.models`). The design keeps SAQ as it is:

- **A queue per protocol and model set.** A batch that needs the models ``S`` goes to the SAQ
  queue ``<queue_name>@v<PROTOCOL>@<S>`` (:func:`route_name`, e.g. ``ambientgen@v3@tiny`` or
  ``ambientgen@v3@tiny+tiny-sao``), and every worker consumes the queues of every set its own
  models cover (:func:`routes_served`). SAQ's atomic move from a queue's list to its active list
  is what hands a batch out, so a worker can only ever take a batch whose every model it has
  loaded, and a batch whose worker died is swept back into its own queue by a worker that can run
  it. The protocol in the name means a worker never even sees a batch of another protocol: during
  a rolling upgrade old and new workers share a Redis, each taking only the work it can do. A set
  has at most :data:`MAX_MODELS_PER_BATCH` models (the most layers of a scene), so a
  worker with ``k`` models consumes at most 2^k - 1 small queues.
- **Room per model.** The bot hands a batch out only when a worker that serves all its models
  has a free slot: :func:`has_room` matches the batches in flight to the workers able to run
  them (a bipartite matching with each worker's slots as capacity) and asks whether one more
  batch of that set still fits. A batch for a model no online worker serves is never handed out:
  it keeps its place in the bot's fair queue ("waiting for a GPU worker with model X") while
  batches of models that have a worker go by.

Presence stays in the one queue named ``<queue_name>`` (SAQ's ``worker_info``), where the bot
reads who is online and which models each serves. Pure logic: no Redis, no torch.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence

from generation.recipes.layers import MAX_LAYERS

#: Bumped when orders, outcomes, progress or presence change shape; a worker takes only batches
#: of its own protocol (it is part of every route's name) and the bot ignores the presence of
#: workers of another. 2: workers serve several models, one queue per set. 3: a batch is bound
#: to the database that made it (:mod:`bot.storage.identity`); the protocol names the queues.
PROTOCOL = 3
#: Between the queue name, the protocol and the model set (never part of a queue name).
ROUTE_MARK = "@"
#: The most models one batch needs: a layered scene's layers may each name their own.
MAX_MODELS_PER_BATCH = MAX_LAYERS
#: Characters kept as they are in a model's part of a route name.
_PLAIN = re.compile(r"[A-Za-z0-9._-]")
_LONG = 40

Demand = frozenset[str]
"""The models one batch needs, by name."""


def resolve(models: Iterable[str | None], default: str) -> tuple[str, ...]:
    """The model names of a batch, ``None`` (requests from before there were several models) read
    as ``default``, each once, sorted."""
    return tuple(sorted({model or default for model in models}))


def _slug(name: str) -> str:
    """``name`` as it may appear in a Redis key; names that had to change get a hash of the
    original, so two different names never share a queue."""
    plain = "".join(c if _PLAIN.fullmatch(c) else "_" for c in name)
    if plain == name and len(name) <= _LONG:
        return name
    return f"{plain[:_LONG]}~{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def route_prefix(queue_name: str) -> str:
    """What every route of this protocol starts with (read at each call: tests patch PROTOCOL)."""
    return f"{queue_name}{ROUTE_MARK}v{PROTOCOL}{ROUTE_MARK}"


def route_name(queue_name: str, models: Iterable[str]) -> str:
    """The SAQ queue of batches of this protocol that need exactly ``models``."""
    names = sorted(set(models))
    if not names:
        raise ValueError("a batch for the GPU needs at least one model")
    return f"{route_prefix(queue_name)}{'+'.join(_slug(name) for name in names)}"


def routes_served(queue_name: str, models: Iterable[str]) -> list[str]:
    """Every queue a worker serving ``models`` consumes: one per set of them a batch may need."""
    names = sorted(set(models))
    return [
        route_name(queue_name, subset)
        for size in range(1, min(len(names), MAX_MODELS_PER_BATCH) + 1)
        for subset in itertools.combinations(names, size)
    ]


def is_route_of(queue_name: str, route: str) -> bool:
    return route.startswith(route_prefix(queue_name))


# -- room per model ------------------------------------------------------------------------------


Worker = tuple[frozenset[str], int]
"""A worker as routing sees it: the models it serves, and how many batches it holds at once."""


def _matched(demands: Sequence[Demand], workers: Sequence[Worker]) -> int:
    """How many of ``demands`` can be placed on ``workers`` at once (maximum matching, each worker
    holding up to its slots; augmenting paths, fine for tens of batches and workers)."""
    held: list[list[int]] = [[] for _ in workers]

    def place(demand: int, seen: set[int]) -> bool:
        for index, (models, slots) in enumerate(workers):
            if index in seen or not demands[demand] <= models:
                continue
            seen.add(index)
            if len(held[index]) < slots:
                held[index].append(demand)
                return True
            for other in held[index]:
                if place(other, seen):
                    held[index].remove(other)
                    held[index].append(demand)
                    return True
        return False

    return sum(place(demand, set()) for demand in range(len(demands)))


def serves(workers: Sequence[Worker], wanted: Demand) -> bool:
    """Whether one of ``workers`` serves every model of ``wanted``."""
    return any(wanted <= models for models, _slots in workers)


def has_room(live: Sequence[Demand], workers: Sequence[Worker], wanted: Demand) -> bool:
    """Whether a batch needing ``wanted`` fits beside the batches in flight (``live``).

    Batches in flight that no online worker can run (their worker left) hold no slot.
    """
    if not serves(workers, wanted):
        return False
    return _matched([*live, wanted], workers) > _matched(live, workers)


def any_room(live: Sequence[Demand], workers: Sequence[Worker]) -> bool:
    """Whether some worker online has a free slot for some batch."""
    return _matched(live, workers) < sum(slots for _models, slots in workers)
