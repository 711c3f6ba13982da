"""A worker process that ends when the process that started it dies, however it dies.

A ``ProcessPoolExecutor`` worker waits on its call queue, and holds both ends of that pipe
itself, so it never sees end-of-file when the bot is SIGKILLed or OOM-killed: it would stay
behind for ever (with the multiprocessing resource tracker, which lives as long as any holder of
its pipe does). :func:`watch_parent` runs in the worker as the pool's initializer:

* on Linux the kernel sends the worker SIGKILL when its parent dies (``PR_SET_PDEATHSIG``);
* everywhere, a daemon thread checks ``os.getppid()`` twice a second and exits when the worker
  has been handed to another parent (the portable fallback, and a second line on Linux, where
  the death signal follows the thread that started the worker rather than the process).

Once the worker is gone, the resource tracker's last writer is gone too and it exits on its own.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

#: ``PR_SET_PDEATHSIG`` from <linux/prctl.h>.
PR_SET_PDEATHSIG = 1
#: How often the fallback thread looks at its parent (seconds).
POLL_S = 0.5
#: Exit status of a worker that outlived its parent.
ORPHANED = 70


def _death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(ORPHANED)  # nobody is left to hand results to; skip the pool's own teardown


def watch_parent(parent_pid: int) -> None:
    """Make this (worker) process end when ``parent_pid``, its parent, dies (see the module docstring)."""
    if not _death_signal():
        log.debug("no parent-death signal here; watching the parent by polling only")
    # The parent may have died before the signal was armed: then it never comes.
    if os.getppid() != parent_pid:
        os._exit(ORPHANED)
    threading.Thread(target=_watch, args=(parent_pid,), name="parent-watch", daemon=True).start()
