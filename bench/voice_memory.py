"""Memory per playing voice server: whole soundscapes in memory (before) vs streamed (now).

Makes one long soundscape (default 10 minutes of 44.1 kHz stereo MP3, as Stable Audio writes),
then, each in a fresh process so the figures do not mix:

- ``whole``: the old way, :func:`bot.voice.loops.playable_loop` (decode all, loop, resample
  all) for one player, then a crossfade into a second copy (two loops held at once);
- ``endless`` (``--endless``): ``--players`` endless scenes of 8 takes each, every take played
  through once with 3 s crossfades (:mod:`bot.voice.endless`);
- ``stream``: ``--players`` players streaming the file (:mod:`bot.voice.cycle`,
  :mod:`bot.voice.stream`) through their mixers, 20 ms at a time, with a crossfade into a
  second stream half-way, for ``--seconds`` of audio each.

Peak RSS growth is VmHWM (reset through ``/proc/self/clear_refs`` after warm-up) minus VmRSS
after warm-up; it is divided by the number of players. CPU per player is the process CPU time
spent mixing and decoding, per second of audio per player (Opus encoding, done by discord.py's
audio thread, is not included: it is the same either way).

    python -m bench.voice_memory --minutes 10 --players 8 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MIB = 2**20


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def make(path: Path, minutes: float, rate: int) -> None:
    """A long soundscape-like clip (noise under a slowly moving drone), stored as MP3."""
    from generation.audio.mp3 import encode_mp3

    n = round(minutes * 60 * rate)
    rng = np.random.default_rng(0)
    t = np.arange(n, dtype=np.float32) / rate
    drone = 0.1 * np.sin(2 * np.pi * 110 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.05 * t))
    audio = (
        np.stack([drone, np.roll(drone, 100)], axis=1) + rng.standard_normal((n, 2), dtype=np.float32) * 0.05
    )
    path.write_bytes(encode_mp3(audio.astype(np.float32), rate, 128))


def whole(path: Path) -> dict[str, float]:
    from bot.voice.loops import playable_loop
    from bot.voice.mixer import LoopMixer

    data = path.read_bytes()
    base = _status("VmRSS")
    _reset_peak()
    started = time.process_time()
    loop = playable_loop(data, already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    prepare_s = time.process_time() - started
    mixer = LoopMixer(loop)
    for _ in range(50):
        mixer.read_pcm()
    playing = _status("VmRSS") - base
    second = playable_loop(data, already_loops=False, trim_start_s=0.05, trim_end_s=0.25)
    mixer.switch(second)
    for _ in range(50):
        mixer.read_pcm()
    crossfading = _status("VmRSS") - base
    return {
        "players": 1,
        "peak_growth_mib_per_player": (_status("VmHWM") - base) / MIB,
        "playing_mib_per_player": playing / MIB,
        "crossfading_mib_per_player": crossfading / MIB,
        "prepare_cpu_s": prepare_s,
    }


def stream(path: Path, players: int, seconds: float) -> dict[str, float]:
    from bot.voice.cycle import plan_cycle
    from bot.voice.memory import return_large_allocations
    from bot.voice.mixer import LoopMixer
    from bot.voice.stream import StreamingLoop

    return_large_allocations()  # as the feeder does in the bot

    def source() -> StreamingLoop:
        s = StreamingLoop(plan_cycle(path, already_loops=False, trim_start_s=0.05, trim_end_s=0.25))
        s.refill()
        return s

    # Warm-up: libraries loaded, allocator pools in place, so the growth is the players'.
    warm = source()
    warm_mixer = LoopMixer(warm)
    for _ in range(100):
        warm.refill()
        warm_mixer.read_pcm()
    warm_mixer.close()
    del warm, warm_mixer
    base = _status("VmRSS")
    _reset_peak()
    started = time.process_time()
    mixers, sources = [], []
    for _ in range(players):
        s = source()
        sources.append(s)
        mixers.append(LoopMixer(s))
    prepare_s = (time.process_time() - started) / players
    frames = round(seconds * 50)
    play_cpu = 0.0
    for frame in range(frames):
        if frame == frames // 2:
            for mixer in mixers:  # every player crossfades into a second stream
                s = source()
                sources.append(s)
                mixer.switch(s, 3.0)
        tick = time.process_time()
        for s in sources:
            if not s.closed:
                s.refill()
        for mixer in mixers:
            mixer.read_pcm()
        play_cpu += time.process_time() - tick
    steady = _status("VmRSS") - base
    underruns = sum(s.underruns for s in sources)
    return {
        "players": players,
        "peak_growth_mib": (_status("VmHWM") - base) / MIB,
        "peak_growth_mib_per_player": (_status("VmHWM") - base) / MIB / players,
        "playing_mib_per_player": steady / MIB / players,
        "prepare_cpu_s": prepare_s,
        "cpu_ms_per_player_second": 1000 * play_cpu / (players * seconds),
        "underrun_samples": underruns,
    }


def endless(path: Path, players: int, seconds: float) -> dict[str, float]:
    """``players`` endless scenes of 8 takes each (the file under 8 take ids: memory does not
    depend on what the takes sound like), played ``seconds`` as fast as they decode."""
    from bot.voice.endless import BedLane, EndlessScene, take_frames
    from bot.voice.memory import return_large_allocations
    from bot.voice.mixer import LoopMixer
    from bot.voice.timeline import BedTimeline, Take

    return_large_allocations()
    frames, _, _ = take_frames(path)

    def scene(seed: int) -> tuple[EndlessScene, LoopMixer]:
        lane = BedLane({}, BedTimeline(crossfade=3 * 48_000, seed=seed))
        for take_id in range(1, 9):
            lane.add_take(Take(take_id, frames), path)
        s = EndlessScene([lane], [100])
        s.refill()
        return s, LoopMixer(s)

    warm, warm_mixer = scene(0)
    for _ in range(100):
        warm.refill()
        warm_mixer.read_pcm()
    warm.release()
    del warm, warm_mixer
    base = _status("VmRSS")
    _reset_peak()
    scenes = [scene(i + 1) for i in range(players)]
    started = time.process_time()
    for _ in range(round(seconds * 50)):
        for s, mixer in scenes:
            s.refill()
            mixer.read_pcm()
    cpu = time.process_time() - started
    crossfades = sum(len(s.lanes[0].timeline.played) - 1 for s, _ in scenes)  # type: ignore[union-attr]
    return {
        "players": players,
        "peak_growth_mib": (_status("VmHWM") - base) / MIB,
        "peak_growth_mib_per_player": (_status("VmHWM") - base) / MIB / players,
        "playing_mib_per_player": (_status("VmRSS") - base) / MIB / players,
        "cpu_ms_per_player_second": 1000 * cpu / (players * seconds),
        "crossfades": crossfades,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=44_100)
    parser.add_argument("--players", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-whole", action="store_true", help="skip the old whole-file way (~2 GB)")
    parser.add_argument("--endless", action="store_true", help="also endless scenes of 8 takes each")
    parser.add_argument("--child", choices=["make", "whole", "stream", "endless"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "make":
        make(args.path, args.minutes, args.rate)
        return 0
    if args.child == "whole":
        print(json.dumps(whole(args.path)))
        return 0
    if args.child == "stream":
        print(json.dumps(stream(args.path, args.players, args.seconds)))
        return 0
    if args.child == "endless":
        print(json.dumps(endless(args.path, args.players, args.seconds)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.mp3"
        common = [sys.executable, "-m", "bench.voice_memory", "--path", str(path)]
        subprocess.run(
            [*common, "--child", "make", "--minutes", str(args.minutes), "--rate", str(args.rate)], check=True
        )
        print(f"{args.minutes:g} min at {args.rate} Hz stereo: {path.stat().st_size / MIB:.1f} MiB of MP3")
        modes = [] if args.skip_whole else [("whole", [])]
        modes.append(("stream", ["--players", str(args.players), "--seconds", str(args.seconds)]))
        if args.endless:
            modes.append(("endless", ["--players", str(args.players), "--seconds", str(args.seconds)]))
        for mode, extra in modes:
            out = subprocess.run(
                [*common, "--child", mode, *extra], check=True, capture_output=True, text=True
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(mode, json.dumps({k: round(v, 2) for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
