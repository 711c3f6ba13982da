"""The machine the run is on: CPU time used, its hardware and load, the package versions."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime: fields 14 and 15 of proc(5), counted here after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU time all cores of the machine have spent busy so far (from /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by the bot, by this process (the stand-in), and by the machine."""

    at: float
    bot: float | None
    here: float
    machine: float | None

    @classmethod
    def take(cls, bot_pid: int) -> CpuSnapshot:
        return cls(time.monotonic(), cpu_seconds(bot_pid), time.process_time(), machine_busy_seconds())

    def cores_until(self, later: CpuSnapshot) -> dict[str, float | None]:
        """Average cores busy in between; ``other_cores`` is everything else on the machine,
        which competes with the bot for the CPU and makes a run less trustworthy."""
        wall = later.at - self.at
        bot = None if self.bot is None or later.bot is None else later.bot - self.bot
        here = later.here - self.here
        machine = None if self.machine is None or later.machine is None else later.machine - self.machine
        other = None if machine is None or bot is None else max(0.0, machine - bot - here)
        return {
            "wall_s": round(wall, 2),
            "bot_cores": None if bot is None else round(bot / wall, 2),
            "standin_cores": round(here / wall, 2),
            "other_cores": None if other is None else round(other / wall, 2),
        }


def machine() -> dict[str, object]:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": cpu_model,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("ambientgen", "torch", "diffusers", "transformers", "discord.py", "aiohttp", "aiosqlite"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
