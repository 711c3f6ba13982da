"""Give large transient buffers back to the system as soon as they are freed (glibc only).

Preparing a player allocates a few large, short-lived arrays (the ends of a soundscape, their
spectra), while every playing source keeps allocating small blocks. glibc raises its mmap
threshold after large frees (up to 32 MiB), so later large arrays land on the heap between
small live blocks and their memory is never returned: measured, RSS grew by tens of MiB per
player that way, though the live data per player is about one MiB. A fixed threshold keeps
every large array in its own mapping, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: glibc's mallopt parameter number for the mmap threshold.
_M_MMAP_THRESHOLD = -3
#: Arrays larger than this get their own mapping (glibc's initial default).
MMAP_THRESHOLD = 128 * 1024

_done = False


def return_large_allocations() -> bool:
    """Fix glibc's mmap threshold (once per process); False where that is not glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt): its allocator returns memory anyway
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if not _done:
        log.warning("could not fix the allocator's mmap threshold; voice memory may grow")
    return _done
