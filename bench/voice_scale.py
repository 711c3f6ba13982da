"""How many servers can play at once: simulated voice players, each with its own audio thread.

Each simulated server runs what discord.py's ``AudioPlayer`` thread does for a real one: every
20 ms read a frame from the player's mixer (``MixerSource.read``), encode it with libopus
(CELT, 128 kbps, as the bot asks) and sleep to the next 20 ms tick of its own schedule. All
players stream the same kind of soundscape from disk through the shared feeder thread
(:mod:`bot.voice.feeder`). The interval between successive frames of each player is recorded;
Discord wants one every 20 ms (target p99 ≤ 25 ms). Sending is left out (a UDP ``sendto`` of
~300 bytes costs microseconds).

    python -m bench.voice_scale --players 10 25 50 75 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

FRAME_S = 0.02


def _player(source_path: Path, seconds: float, start: threading.Barrier, out: list[float]) -> None:
    import discord

    from bot.voice.cycle import plan_cycle
    from bot.voice.feeder import FEEDER
    from bot.voice.mixer import LoopMixer
    from bot.voice.source import MixerSource
    from bot.voice.stream import StreamingLoop

    stream = StreamingLoop(plan_cycle(source_path, already_loops=True))
    stream.refill()
    FEEDER.add(stream)
    source = MixerSource(LoopMixer(stream))
    encoder = discord.opus.Encoder(application="lowdelay", bitrate=128, signal_type="music")
    start.wait()
    begin = time.perf_counter()
    last = begin
    loops = 0
    while loops * FRAME_S < seconds:
        pcm = source.read()
        encoder.encode(pcm, encoder.SAMPLES_PER_FRAME)
        now = time.perf_counter()
        if loops:
            out.append(now - last)
        last = now
        loops += 1
        # discord.py's schedule: the next frame is due at start + 20 ms × frames, whatever came late.
        time.sleep(max(0.0, begin + FRAME_S * loops - time.perf_counter()))
    stream.close()


def run(players: int, seconds: float, path: Path) -> dict[str, float]:
    intervals: list[list[float]] = [[] for _ in range(players)]
    barrier = threading.Barrier(players + 1)
    threads = [
        threading.Thread(target=_player, args=(path, seconds, barrier, intervals[i]), daemon=True)
        for i in range(players)
    ]
    for t in threads:
        t.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    barrier.wait()
    for t in threads:
        t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ms = np.concatenate([np.asarray(i) for i in intervals]) * 1000
    return {
        "players": players,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "cpu_ms_per_player_second": 1000 * cpu / (players * seconds),
        "cpu_cores_used": cpu / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, nargs="+", default=[10, 25, 50, 75])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from bot.voice.support import load_voice_support

    support = load_voice_support()
    if not support.available:
        print(f"voice unavailable: {support.detail}")
        return 1
    if args.child is not None:
        print(json.dumps(run(args.child, args.seconds, args.path)))
        return 0
    import subprocess

    from generation.audio.looping import make_seamless_loop
    from generation.audio.mp3 import encode_mp3

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loop.mp3"
        rng = np.random.default_rng(0)
        path.write_bytes(
            encode_mp3(make_seamless_loop(rng.standard_normal((44_100 * 30, 2)) * 0.1, 44_100), 44_100, 128)
        )
        print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
        for n in args.players:  # a fresh process each: threads and the feeder start clean
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.voice_scale",
                    "--child",
                    str(n),
                    "--seconds",
                    str(args.seconds),
                    "--path",
                    str(path),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps({k: round(v, 2) for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
