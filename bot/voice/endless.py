"""An endless scene as the mixer plays it: beds of takes crossfaded in turn, events, live levels.

:class:`EndlessScene` is a mixer source (:class:`bot.voice.stream.Source`). It executes what
:mod:`bot.voice.timeline` plans and decides nothing itself:

- each bed layer (:class:`BedLane`) plays its takes through once each, in the timeline's order,
  with an equal-power crossfade from one into the next; the takes stream from disk
  (:class:`~bot.voice.stream.StreamingLoop` with ``once``), opened by the feeder thread shortly
  before they are needed, so the audio thread never touches a file;
- each event layer plays its one-shots (short, held in memory) at the timeline's onsets, gains
  and positions;
- each layer has a level (0-100, the Levels button) that glides to a new value.

New takes arrive with :meth:`EndlessScene.add_take` (from the event loop, once a background
render is on disk); until then the timeline reshuffles the takes there are.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from bot.voice.cycle import Cycle
from bot.voice.mixer import Envelope
from bot.voice.stream import CHANNELS, SAMPLE_RATE, StreamingLoop
from bot.voice.timeline import BedTimeline, EventSpec, EventTimeline, Onset, Segment, Take, pan_gains

log = logging.getLogger(__name__)

#: The next take is opened this long before its crossfade starts.
OPEN_AHEAD_S = 2.0
#: With only the playing take at hand, the next is chosen this late (a new one may land).
LAST_MOMENT_S = 0.5
#: A level change glides over this long.
LEVEL_GLIDE_S = 0.5


def take_frames(path: Path) -> tuple[int, int, int]:
    """``(frames at 48 kHz, file rate, file channels)`` of a stored take (reads its header)."""
    info = sf.info(str(path))
    return round(info.frames * SAMPLE_RATE / info.samplerate), info.samplerate, info.channels


@dataclass
class _Playing:
    segment: Segment
    source: StreamingLoop
    played: int = 0  # samples of this segment already mixed

    def gains(self, count: int) -> np.ndarray:
        """Equal-power fade-in, then 1, then fade-out, for the next ``count`` samples."""
        s = self.segment
        i = np.arange(self.played, self.played + count, dtype=np.float64)
        gain = np.ones(count)
        if s.fade_in > 1:
            rising = i < s.fade_in
            gain[rising] = np.sin(0.5 * np.pi * i[rising] / (s.fade_in - 1))
        if s.fade_out > 1:
            falling_from = s.length - s.fade_out
            falling = i >= falling_from
            gain[falling] = np.cos(
                0.5 * np.pi * np.minimum(i[falling] - falling_from, s.fade_out - 1) / (s.fade_out - 1)
            )
        gain[i >= s.length] = 0.0
        return gain


class BedLane:
    """One bed layer: its takes, played in the timeline's order with crossfades."""

    def __init__(self, paths: dict[int, Path], timeline: BedTimeline) -> None:
        self._paths = dict(paths)
        self._takes: list[Take] = []
        self.timeline = timeline
        self.now = 0
        self._playing: list[_Playing] = []
        self._upcoming: _Playing | None = None
        self._retired: list[_Playing] = []
        self._lock = threading.Lock()

    # -- event loop / feeder -----------------------------------------------------------------------

    def add_take(self, take: Take, path: Path) -> None:
        with self._lock:
            self._paths[take.id] = path
            self._takes.append(take)

    @property
    def takes(self) -> list[Take]:
        with self._lock:
            return list(self._takes)

    def _open(self, segment: Segment) -> _Playing:
        path = self._paths[segment.take.id]
        with sf.SoundFile(str(path)) as f:
            cycle = Cycle(path, f.samplerate, min(f.channels, 2), 0, f.frames)
        source = StreamingLoop(cycle, once=True)
        source.refill()
        return _Playing(segment, source)

    def refill(self) -> None:
        """Feeder thread: open the first or next take when it is near, keep the playing ones fed."""
        with self._lock:
            takes = list(self._takes)
            playing = list(self._playing)
            upcoming = self._upcoming
            retired, self._retired = self._retired, []
        for p in retired:
            p.source.release()
        if not takes:
            return
        if not playing and upcoming is None:
            first = self._open(self.timeline.next_segment(takes, None))
            with self._lock:
                self._playing.append(first)
            playing = [first]
        last = playing[-1]
        lead = last.segment.fade_out_at - self.now
        other = any(t.id != last.segment.take.id for t in takes)
        # With nothing but the playing take, wait for a new one until the last moment.
        if upcoming is None and (
            lead <= round(LAST_MOMENT_S * SAMPLE_RATE)
            or (other and lead <= round(OPEN_AHEAD_S * SAMPLE_RATE))
        ):
            upcoming = self._open(self.timeline.next_segment(takes, last.segment))
            with self._lock:
                self._upcoming = upcoming
        for p in [*playing, *([upcoming] if upcoming else [])]:
            p.source.refill()

    def release(self) -> None:
        with self._lock:
            everything = [*self._playing, *self._retired, *([self._upcoming] if self._upcoming else [])]
            self._playing, self._retired, self._upcoming = [], [], None
        for p in everything:
            p.source.release()

    # -- audio thread ------------------------------------------------------------------------------

    def read(self, count: int) -> np.ndarray:
        out = np.zeros((count, CHANNELS), dtype=np.float64)
        with self._lock:
            if self._upcoming is not None and self.now + count > self._upcoming.segment.start:
                self._playing.append(self._upcoming)
                self._upcoming = None
            playing = list(self._playing)
        for p in playing:
            offset = max(0, p.segment.start - self.now)
            n = count - offset
            if n <= 0:
                continue
            out[offset:] += p.source.take(n) * p.gains(n)[:, None]
            p.played += n
        self.now += count
        done = [p for p in playing if p.played >= p.segment.length]
        if done:
            with self._lock:
                self._playing = [p for p in self._playing if p not in done]
                self._retired.extend(done)  # the feeder thread closes their files
        return out


class EventLane:
    """One event layer: its one-shots (48 kHz stereo, in memory) at the timeline's onsets."""

    def __init__(self, shots: list[np.ndarray], timeline: EventTimeline, now: int = 0) -> None:
        self.shots = shots
        self.timeline = timeline
        self.now = now
        self._next: Onset = timeline.next_onset(now)
        self._sounding: list[tuple[np.ndarray, int, float, float]] = []  # shot, position, left, right
        self.onsets: list[int] = []
        """Every onset played (for measurements)."""

    def read(self, count: int) -> np.ndarray:
        out = np.zeros((count, CHANNELS))
        end = self.now + count
        while self._next.at < end:
            left, right = pan_gains(self._next.pan)
            shot = self.shots[self._next.shot]
            self._sounding.append(
                (shot, self.now - self._next.at, left * self._next.gain, right * self._next.gain)
            )
            self.onsets.append(self._next.at)
            self._next = self.timeline.next_onset(self._next.at)
        still = []
        for shot, position, left, right in self._sounding:
            start = max(0, -position)
            first = max(0, position)
            n = min(count - start, shot.shape[0] - first)
            if n > 0:
                part = shot[first : first + n]
                out[start : start + n, 0] += part[:, 0] * left
                out[start : start + n, 1] += part[:, 1] * right
            if first + n < shot.shape[0]:
                still.append((shot, position + count, left, right))
        self._sounding = still
        self.now = end
        return out


class EndlessScene:
    """A mixer source: the sum of the scene's lanes, each at its own gliding level."""

    def __init__(self, lanes: list[BedLane | EventLane], levels: list[int], name: str = "scene") -> None:
        if len(lanes) != len(levels):
            raise ValueError("one level per lane")
        self.lanes = lanes
        self._levels = [Envelope(level / 100) for level in levels]
        self._lock = threading.Lock()
        self.closed = False
        self.name = name
        self.wake = lambda: None

    def set_level(self, index: int, level: int, glide_s: float = LEVEL_GLIDE_S) -> None:
        """Glide layer ``index`` to ``level`` (0-100): no step, no click."""
        with self._lock:
            self._levels[index].glide_to(min(max(level, 0), 100) / 100, glide_s)

    def refill(self) -> None:
        for lane in self.lanes:
            if isinstance(lane, BedLane):
                lane.refill()

    def release(self) -> None:
        for lane in self.lanes:
            if isinstance(lane, BedLane):
                lane.release()

    def take(self, count: int) -> np.ndarray:
        out = np.zeros((count, CHANNELS))
        with self._lock:
            gains = [level.take(count) for level in self._levels]
        for lane, gain in zip(self.lanes, gains, strict=True):
            out += lane.read(count) * gain[:, None]
        self.wake()
        return out.astype(np.float32)

    def close(self) -> None:
        self.closed = True
        self.wake()


def event_lane(shots: list[np.ndarray], every_s: float, gain: float, seed: int) -> EventLane:
    """An event layer from its one-shots (48 kHz stereo float32) and mean interval."""
    spec = EventSpec(mean=round(every_s * SAMPLE_RATE), gain=gain, shots=len(shots))
    return EventLane(shots, EventTimeline(spec, seed))
