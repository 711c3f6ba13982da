"""The load: the bot started, every user's /ambient sent at once, waited for, the bot stopped."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.bot_overhead.logs import worst_stall_ms
from bench.bot_overhead.results import collect
from bench.bot_overhead.settings import BenchmarkError, Settings
from bench.bot_overhead.system import CpuSnapshot, load_average
from generation.presets import DEFAULT_STEPS
from tests.e2e.harness import World, running_world
from tests.e2e.helpers import ambient

if TYPE_CHECKING:
    from tests.standin import InteractionHandle, User

#: Different prompts, one per user (cycled with a "take N" suffix beyond 20 users).
PROMPTS: tuple[str, ...] = (
    "rain on a tin roof",
    "distant thunderstorm at night",
    "ocean waves on a pebble beach",
    "crickets in a summer field",
    "crackling fireplace in a cabin",
    "babbling mountain stream",
    "wind through pine trees",
    "busy cafe with clinking cups",
    "city street at dawn",
    "birdsong in a spring forest",
    "deep space drone",
    "underwater bubbles and whale song",
    "night train on the rails",
    "blizzard howling outside the window",
    "dripping cave with echoes",
    "frogs by a pond at dusk",
    "waterfall in a canyon",
    "campfire with owls in the woods",
    "seagulls over a harbour",
    "gentle rain on leaves",
)

_TERMINAL = ("done", "failed", "cancelled")


def prompt_for(index: int) -> str:
    base = PROMPTS[index % len(PROMPTS)]
    take = index // len(PROMPTS)
    return base if take == 0 else f"{base} (take {take + 1})"


def listeners(world: World, count: int) -> list[User]:
    """``count`` guild members: the harness's three, then more made here."""
    users = [world.alice, world.bob, world.carol][:count]
    for i in range(len(users), count):
        user = world.standin.make_user(f"listener{i + 1:03d}")
        world.standin.add_member(world.guild.id, user)
        users.append(user)
    return users


def command_options(world: World, settings: Settings) -> dict[str, object]:
    """The /ambient options every user sends (besides the prompt), from the registered schema."""
    (command,) = [c for c in world.standin.commands(world.guild.id) if c["name"] == "ambient"]
    names = {o["name"] for o in command.get("options", [])}
    options: dict[str, object] = {"duration": settings.duration}
    if settings.guidance is not None:
        options["guidance"] = settings.guidance
    if "steps" in names:
        options["steps"] = settings.steps
    elif settings.steps != DEFAULT_STEPS:
        # Steps then come from the presets; numbers under a wrong label would mislead.
        raise BenchmarkError(
            f"this bot's /ambient has no 'steps' option (options: {', '.join(sorted(names))}); "
            f"every request runs the presets' {DEFAULT_STEPS} steps, so run with --steps {DEFAULT_STEPS}"
        )
    return options


async def _poll(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:  # noqa: ASYNC109
    # Plain polling rather than waking on every stand-in change: this process shares the CPU
    # with the bot, and re-checking on each of hundreds of status edits would cost it.
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


async def run_benchmark(settings: Settings, workdir: Path) -> dict[str, Any]:
    """Start the bot in ``workdir``, run the load, stop the bot; the measured results."""
    if settings.users < 1:
        raise BenchmarkError("--users must be at least 1")
    started = time.monotonic()
    async with running_world(workdir, settings.overrides()) as world:
        bot_start_s = time.monotonic() - started
        options = command_options(world, settings)
        users = listeners(world, settings.users)
        print(f"bot ready in {bot_start_s:.1f} s; {len(users)} users send /ambient", file=sys.stderr)

        assert world.bot.process is not None
        pid = world.bot.process.pid
        load_started = time.time()
        cpu_before = CpuSnapshot.take(pid)
        load_before = load_average()
        # Everyone at once: the interactions are created back to back on the stand-in.
        handles: list[InteractionHandle] = await asyncio.gather(
            *(ambient(world, user, prompt=prompt_for(i), **options) for i, user in enumerate(users))
        )
        responses = await asyncio.gather(*(h.response(timeout=60.0) for h in handles))
        refused = [r.data for r in responses if r.type != 5]
        if refused:
            raise BenchmarkError(f"{len(refused)} command(s) were not deferred, e.g. {refused[0]!r}")

        def finished() -> bool:
            rows = world.bot.db_rows("SELECT status FROM jobs")
            return len(rows) >= len(users) and all(r["status"] in _TERMINAL for r in rows)

        try:
            await _poll(finished, settings.timeout_s, f"{len(users)} jobs to finish")
        except TimeoutError as exc:
            statuses = [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")]
            tail = "\n".join(world.bot.log().splitlines()[-40:])
            raise BenchmarkError(f"{exc}; job statuses {statuses}\n--- bot log tail ---\n{tail}") from exc
        cpu = cpu_before.cores_until(CpuSnapshot.take(pid))
        # Stopping logs the worst event-loop stall; deliveries still running are awaited by the bot.
        exit_code = await world.bot.stop(signal.SIGTERM)
        measured = collect(world, settings, responses, exit_code)
        stall = worst_stall_ms(world, load_started)
        return {
            **measured,
            "bot_start_s": round(bot_start_s, 1),
            "worst_loop_stall_ms": stall["ms"],
            "worst_loop_stall_when": stall["when"],
            "cpu_during_load": cpu,
            # Other work on the machine slows the bot; the 1-minute load average shows it.
            "load_average_1min": {"before": load_before, "after": load_average()},
        }
