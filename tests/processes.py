"""A process's descendants, and waiting (with a deadline) for processes to be gone.

Used by the end-to-end teardown, which fails on any process the bot left behind, and by the
audio worker's tests. A zombie counts as gone: it has exited and holds nothing but its entry in
the process table (an init that reaps slowly, or none at all, must not fail a test).
"""

from __future__ import annotations

import time

import psutil

#: How often :func:`still_running` looks again.
POLL_S = 0.05


def descendants(pid: int) -> dict[int, str]:
    """pid → command line of every process below ``pid`` (children, theirs, …); empty if it is gone."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    found = {}
    for child in children:
        try:
            found[child.pid] = " ".join(child.cmdline()) or child.name()
        except psutil.Error:
            continue  # it ended meanwhile
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def still_running(pids: dict[int, str], timeout: float) -> dict[int, str]:
    """Those of ``pids`` still running after waiting up to ``timeout`` seconds for all to end.

    Blocking (it polls): call it from a thread in async code, or where blocking is fine.
    """
    deadline = time.monotonic() + timeout
    left = {pid: what for pid, what in pids.items() if running(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(POLL_S)
        left = {pid: what for pid, what in left.items() if running(pid)}
    return left
