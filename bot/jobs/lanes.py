"""The background lane's policy: when an endless scene's next take may be rendered.

Background renders (new takes for endless scenes) are ordinary jobs with a lane; this module
is the lane's rule book, pure and driven by a clock passed in, so the scheduler asks it and the
tests check it exactly:

- a background render starts only when **no user job waits** (users' work always goes first);
- **one at a time per playing server** (a server's next take is asked for while one plays);
- all of them together take at most ``share`` of the GPU's time (``[voice] background_share``):
  after a background render that ran ``d`` seconds, the next may start only
  ``d · (1 - share) / share`` seconds later, so back-to-back background work never exceeds the
  share, whatever users do; the players reshuffle the takes they have for the rest;
- a server whose player stopped (or whose channel emptied) is dropped, and the render it had
  running is named so the scheduler can stop it;
- the GPU seconds spent in the last hour and the servers playing are kept for ``/status``.

Background renders count against nobody's limits: the lane does not touch admission.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: /status reports the background GPU time of this last stretch.
REPORT_WINDOW_S = 3600.0


@dataclass(frozen=True)
class Spent:
    guild_id: int
    started: float
    seconds: float


class BackgroundLane:
    """See the module docstring. Times are seconds of the clock the caller passes in."""

    def __init__(self, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError("the background share is between 0 and 1")
        self.share = share
        self.playing: set[int] = set()
        """Servers playing an endless scene (they want takes)."""
        self._running: dict[int, tuple[int, float]] = {}  # guild -> (job id, started at)
        self._next_at = float("-inf")
        self._spent: deque[Spent] = deque()

    # -- players ---------------------------------------------------------------------------------

    def join(self, guild_id: int) -> None:
        """A server started playing an endless scene."""
        self.playing.add(guild_id)

    def leave(self, guild_id: int) -> int | None:
        """A server's player stopped or its channel emptied: the job id to stop, if one runs."""
        self.playing.discard(guild_id)
        running = self._running.get(guild_id)
        return running[0] if running is not None else None

    # -- the rule --------------------------------------------------------------------------------

    def may_start(self, guild_id: int, *, users_waiting: int, now: float) -> bool:
        """Whether ``guild_id``'s next take may be rendered now."""
        return (
            self.share > 0.0
            and users_waiting == 0
            and guild_id in self.playing
            and guild_id not in self._running
            and now >= self._next_at
        )

    def next_allowed_at(self) -> float:
        """When the share allows the next background render (``-inf``: now)."""
        return self._next_at

    def started(self, guild_id: int, job_id: int, now: float) -> None:
        self._running[guild_id] = (job_id, now)

    def finished(self, guild_id: int, now: float) -> None:
        """The server's render ended (done, failed or stopped): its GPU time counts."""
        running = self._running.pop(guild_id, None)
        if running is None:
            return
        seconds = max(0.0, now - running[1])
        self._spent.append(Spent(guild_id, running[1], seconds))
        if self.share > 0.0:
            self._next_at = max(self._next_at, now + seconds * (1.0 - self.share) / self.share)

    # -- /status ---------------------------------------------------------------------------------

    def gpu_seconds(self, now: float, window_s: float = REPORT_WINDOW_S) -> float:
        """GPU seconds background renders took in the last ``window_s`` (running ones so far)."""
        while self._spent and self._spent[0].started + self._spent[0].seconds < now - window_s:
            self._spent.popleft()
        since = now - window_s
        done = sum(s.seconds - max(0.0, since - s.started) for s in self._spent)
        running = sum(now - max(started, since) for _, started in self._running.values())
        return done + running
