"""Who sees which queued job in ``/queue``: one server's jobs stay in that server.

A viewer sees in full (prompt, name, times) the jobs of the server they ask from and their own
jobs wherever they were made; every other job — other servers, other people's DMs — is only
counted. Pure: it takes the running and waiting entries, whatever queue produced them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage import Job


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks, and from where (``guild_id`` None: a DM)."""

    user_id: int
    guild_id: int | None


@dataclass(frozen=True, slots=True)
class VisibleQueue:
    """What one viewer may see of the queue."""

    running: tuple[Job, ...]
    waiting: tuple[tuple[int, Job, float], ...]
    """(place in the whole queue, job, seconds until it starts), in queue order."""
    hidden: int
    """Running and waiting jobs from elsewhere, shown as a count only."""
    total_running: int
    total_waiting: int


def may_see(job: Job, viewer: Viewer) -> bool:
    """Whether ``viewer`` may see ``job`` in full: their own, or one of the server they ask from."""
    if job.user_id == viewer.user_id:
        return True
    return job.guild_id is not None and job.guild_id == viewer.guild_id


def visible_queue(
    running: Sequence[Job], waiting: Sequence[tuple[Job, float]], viewer: Viewer
) -> VisibleQueue:
    """The part of the queue ``viewer`` sees; waiting jobs keep their real place in line."""
    shown_running = tuple(job for job in running if may_see(job, viewer))
    shown_waiting = tuple(
        (place, job, eta) for place, (job, eta) in enumerate(waiting, start=1) if may_see(job, viewer)
    )
    hidden = len(running) - len(shown_running) + len(waiting) - len(shown_waiting)
    return VisibleQueue(shown_running, shown_waiting, hidden, len(running), len(waiting))
