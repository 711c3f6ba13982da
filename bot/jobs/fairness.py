"""Fair order of the waiting jobs.

The GPU runs one job at a time, so the order decides who waits. It is a two-level round-robin:

1. between *buckets* — one per guild (server), and one for all direct messages together
   (``("dm", 0)``): a DM user gets a share like a server's member, not like a whole server's, so
   a thousand people asking in DMs cannot crowd out every server;
2. between users inside a bucket (so inside the DM bucket, DM users take turns and none of them
   can slow the others down by queueing more);
3. each user's own jobs stay first-in first-out (by ``job_id``).

In each round the bucket (then the user) served longest ago goes first; one never served goes
before any served one; ties go to the oldest pending job. The order is a simulation of that
rotation assuming nothing new arrives, so it is fully deterministic.

A user with jobs from several buckets (a DM and a server, two servers) is placed in the bucket of
their oldest pending job for the whole order: their jobs stay FIFO and they cannot double their
share by queueing from several places.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

#: Default number of users (and, separately, buckets) whose last service is remembered.
DEFAULT_HISTORY_SIZE = 10_000

BucketKey = tuple[str, int]
#: Every direct-message job is in this bucket.
DM_BUCKET: BucketKey = ("dm", 0)


@dataclass(frozen=True)
class Pending:
    """What the ordering needs to know about one waiting job."""

    job_id: int
    user_id: int
    guild_id: int | None  # None: a direct message

    @property
    def bucket(self) -> BucketKey:
        """The round-robin bucket: the guild, or the one bucket of all direct messages."""
        if self.guild_id is None:
            return DM_BUCKET
        return ("guild", self.guild_id)


# Rank of a user or bucket at the start of a round; lower goes first. Tuples keep the three kinds
# apart: never served < served at a real time < served earlier in this same simulated order.
_NEVER = (0, 0.0)
_REAL = 1
_SIMULATED = 2


class _LastServed:
    """Last service time per key, bounded to the ``capacity`` most recently served keys.

    The key forgotten first is the one served longest ago, and a forgotten key ranks as never
    served — still first, where it already was — so forgetting barely changes any order.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._at: OrderedDict[Hashable, float] = OrderedDict()

    def record(self, key: Hashable, at: float) -> None:
        # max(): a late or out-of-order report must not make a key look served longer ago.
        previous = self._at.pop(key, None)
        self._at[key] = at if previous is None else max(previous, at)
        while len(self._at) > self._capacity:
            self._at.popitem(last=False)

    def get(self, key: Hashable) -> float | None:
        return self._at.get(key)

    def __len__(self) -> int:
        return len(self._at)


class FairScheduler:
    """Remembers who was served when, and orders pending jobs fairly (see the module docstring).

    History is bounded by count, not time: the ``history_size`` most recently served users and,
    separately, buckets are remembered; older entries are forgotten (see :class:`_LastServed`).
    Times passed to :meth:`served` should come from one monotonic clock.
    """

    def __init__(self, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        if history_size < 1:
            raise ValueError(f"history_size must be at least 1, not {history_size}")
        self._users = _LastServed(history_size)
        self._buckets = _LastServed(history_size)

    def served(self, item: Pending, at: float) -> None:
        """Record that ``item`` started running at time ``at`` (its user and bucket were served)."""
        if not math.isfinite(at):
            raise ValueError(f"service time must be finite, not {at!r}")
        self._users.record(item.user_id, at)
        self._buckets.record(item.bucket, at)

    def last_served(self, *, user_id: int | None = None, bucket: BucketKey | None = None) -> float | None:
        """When the user or the bucket was last served (None: never, or forgotten)."""
        if (user_id is None) == (bucket is None):
            raise ValueError("give exactly one of user_id and bucket")
        return self._users.get(user_id) if user_id is not None else self._buckets.get(bucket)

    def order(self, pending: Sequence[Pending]) -> list[Pending]:
        """``pending`` in the order the jobs will run if nothing else arrives."""
        jobs_of = _jobs_by_user(pending)
        users_in: dict[BucketKey, list[int]] = {}
        for user_id, jobs in jobs_of.items():
            users_in.setdefault(jobs[0].bucket, []).append(user_id)

        # One heap of users per bucket, one heap of buckets. Entries are (rank, oldest pending
        # job id, key); job ids are unique, so the key itself is never compared.
        user_heaps: dict[BucketKey, list[tuple[tuple[int, float], int, int]]] = {}
        bucket_heap: list[tuple[tuple[int, float], int, BucketKey]] = []
        for bucket, user_ids in users_in.items():
            heap = [(_rank(self._users.get(u)), jobs_of[u][0].job_id, u) for u in user_ids]
            heapq.heapify(heap)
            user_heaps[bucket] = heap
            oldest = min(entry[1] for entry in heap)
            bucket_heap.append((_rank(self._buckets.get(bucket)), oldest, bucket))
        heapq.heapify(bucket_heap)

        next_index = dict.fromkeys(jobs_of, 0)
        result: list[Pending] = []
        while bucket_heap:
            _, _, bucket = heapq.heappop(bucket_heap)
            users = user_heaps[bucket]
            _, _, user_id = heapq.heappop(users)
            index = next_index[user_id]
            result.append(jobs_of[user_id][index])
            # The one just served goes to the back of its rotation: a simulated time later than
            # every real one and every earlier simulated one.
            stamp = (_SIMULATED, float(len(result)))
            if index + 1 < len(jobs_of[user_id]):
                next_index[user_id] = index + 1
                heapq.heappush(users, (stamp, jobs_of[user_id][index + 1].job_id, user_id))
            if users:
                heapq.heappush(bucket_heap, (stamp, users[0][1], bucket))
        return result

    def position(self, pending: Sequence[Pending], job_id: int) -> tuple[int, int] | None:
        """1-based place of ``job_id`` in :meth:`order` and the number of pending jobs, or None."""
        for index, item in enumerate(self.order(pending), start=1):
            if item.job_id == job_id:
                return index, len(pending)
        return None


def _rank(at: float | None) -> tuple[int, float]:
    return _NEVER if at is None else (_REAL, at)


def _jobs_by_user(pending: Iterable[Pending]) -> dict[int, list[Pending]]:
    jobs_of: dict[int, list[Pending]] = {}
    seen: set[int] = set()
    for item in pending:
        if item.job_id in seen:
            raise ValueError(f"job {item.job_id} is pending twice")
        seen.add(item.job_id)
        jobs_of.setdefault(item.user_id, []).append(item)
    for jobs in jobs_of.values():
        jobs.sort(key=lambda item: item.job_id)
    return jobs_of
