"""Real ``ambientgen worker`` processes (tiny model) for tests with ``[executor] kind = "redis"``.

Each worker has its own config file, log and test-only hold/fail files, so a test can hold a job
on one worker, SIGKILL it, and see the job finish on another. Their logs are checked for
unexpected ERROR records like the bot's (:meth:`WorkerProcess.expect_error` allows some).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import REPO, STEP_DELAY_ENV, _write_lines, unexpected_records, write_config

#: Importing torch and building the tiny model takes a few seconds on a busy machine.
WORKER_START_TIMEOUT_S = 120.0

#: ``ambientgen worker`` speaking another protocol: set before bot.remote's other modules import it.
_AS_PROTOCOL = """
import sys
import bot.remote.routes
bot.remote.routes.PROTOCOL = {protocol}
import bot.remote.broker
bot.remote.broker.PROTOCOL = {protocol}
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class WorkerProcess:
    """One ``ambientgen worker`` child process."""

    workdir: Path
    redis_url: str
    name: str
    heartbeat_s: int = 1
    overrides: dict[str, dict[str, object]] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    expected_errors: list[re.Pattern[str]] = field(default_factory=list)
    #: Run as a worker of this protocol version instead of the code's own (an older or newer
    #: release during a rolling upgrade): ``PROTOCOL`` is patched before any module reads it.
    protocol: int | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.starts}.log"

    @property
    def hold_file(self) -> Path:
        return self.workdir / f"{self.name}.hold"

    def hold(self, *texts: str) -> None:
        """Hold this worker's generations whose prompt names one of ``texts`` (none: release)."""
        _write_lines(self.hold_file, texts)

    def release(self) -> None:
        self.hold()

    def config(self) -> dict[str, dict[str, object]]:
        sections: dict[str, dict[str, object]] = {
            "executor": {"kind": "redis", "redis_url": self.redis_url, "heartbeat_s": self.heartbeat_s},
            "model": {
                "id": "tiny",
                "device": "cpu",
                "test_hold_file": str(self.hold_file),
                "test_step_delay_ms": int(os.environ.get(STEP_DELAY_ENV, "0") or 0),
                "test_fail_file": str(self.workdir / f"{self.name}.fail"),
            },
        }
        for section, values in self.overrides.items():
            sections.setdefault(section, {}).update(values)
        return sections

    async def start(self, *, wait: bool = True) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        config_path = self.workdir / f"{self.name}.toml"
        write_config(config_path, self.config())
        log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        env.pop("AMBIENTGEN_REDIS_PASSWORD", None)
        command = ["-m", "bot.cli"]
        if self.protocol is not None:
            command = ["-c", _AS_PROTOCOL.format(protocol=int(self.protocol))]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *command, "worker", "--config", str(config_path),
            cwd=REPO, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        if wait:
            await self.wait_for_log(r"worker .* serving queue", WORKER_START_TIMEOUT_S)

    async def wait_for_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:  # noqa: ASYNC109
        regex = re.compile(pattern, re.MULTILINE)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            text = self.log()
            if match := regex.search(text):
                return match
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(
                    f"worker {self.name} exited with {self.process.returncode}:\n{text[-3000:]}"
                )
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"no worker log line matching {pattern!r} within {timeout:g} s:\n{text[-3000:]}"
                )
            # The log is a file written by another process: there is no event to wait on.
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye — as when a GPU machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 60.0) -> int | None:  # noqa: ASYNC109
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def expect_error(self, pattern: str) -> None:
        self.expected_errors.append(re.compile(pattern))

    def log(self) -> str:
        return "\n".join(
            (self.workdir / f"{self.name}-{i}.log").read_text(errors="replace")
            for i in range(1, self.starts + 1)
            if (self.workdir / f"{self.name}-{i}.log").exists()
        )

    def unexpected_errors(self) -> list[str]:
        return unexpected_records(self.log(), self.expected_errors)
