"""The bot's log read back: executor idle gaps and the event loop's worst stall."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.harness import World

_IDLE_GAP = re.compile(r"executor idle gap ([\d.]+) ms( with work waiting)?")
_SHUTDOWN_STALL = re.compile(r"worst event-loop stall ([\d.]+) ms")
_NEW_WORST = re.compile(r"^(\S+ \S+) .*event loop stall: new worst ([\d.]+) ms", re.MULTILINE)


def idle_gaps(log: str) -> tuple[list[float], str]:
    """Executor idle gaps (ms) from the bot's log, and which log form they came from.

    Prefers the INFO form logged only when work was waiting; falls back to the older DEBUG
    form (every gap, waiting or not), which appears only in a verbose log.
    """
    waiting: list[float] = []
    every: list[float] = []
    for match in _IDLE_GAP.finditer(log):
        (waiting if match.group(2) else every).append(float(match.group(1)))
    if waiting:
        return waiting, "executor idle gap <X> ms with work waiting (INFO)"
    if every:
        return every, "executor idle gap <X> ms (DEBUG, every gap)"
    return [], "not logged"


def worst_stall_ms(world: World, load_started: float) -> dict[str, object]:
    """The event loop's worst stall, and whether it happened before or during the load.

    The bot logs the worst at shutdown; a new worst is logged as it happens only above 50 ms
    (at WARNING), so when it is timestamped we can tell the phase, else it stays unknown.
    """
    log = world.bot.log()
    shutdown = [float(m) for m in _SHUTDOWN_STALL.findall(log)]
    worst = max([*shutdown, world.bot.worst_loop_stall_ms()], default=0.0)
    if not shutdown and not worst:
        return {"ms": None, "when": "not logged"}
    when = "phase unknown: only stalls over 50 ms are logged as they happen"
    for match in _NEW_WORST.finditer(log):
        if float(match.group(2)) == worst:
            # Log times are local wall-clock time with milliseconds.
            at = time.mktime(time.strptime(match.group(1)[:19], "%Y-%m-%d %H:%M:%S"))
            at += int(match.group(1)[20:23]) / 1000
            when = "during the load" if at >= load_started else "at startup, before the load"
    return {"ms": round(worst, 1), "when": when}
