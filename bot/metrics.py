"""Prometheus metrics: every counter, gauge and histogram of the bot and its GPU workers, defined once.

Counters are bumped at the state transitions that already exist (the job store's conditional
UPDATEs, the scheduler's finished batch), so they cannot drift from the database: after N
delivered jobs, ``ambientgen_jobs_total{outcome="delivered"}`` says N (since the process started;
Prometheus handles the reset to 0 at a restart). Labels are only ever a model, an outcome or an
HTTP status — never a user, a server or a prompt — so the number of series stays small.

Gauges that describe the present (queue length, running jobs, voice players, workers online,
the worst event-loop stall since the last scrape, whether the gateway is connected and the
process ready) are read at scrape time from probes the
owner sets (:class:`Probes`), so keeping them costs nothing per job.

One :class:`Metrics` is current per process (:func:`metrics`); tests install their own with
:func:`use`, on a registry of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# The ``*_created`` series double every counter and histogram for no use on a dashboard.
prometheus_client.disable_created_metrics()

OUTCOMES = ("accepted", "delivered", "failed", "cancelled", "refused")
#: Queue waits and whole jobs: from a blink to a long queue behind 10-minute renders.
WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: One batch on the GPU: a tiny model's fraction of a second to a 10-minute render.
RENDER_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
#: What the default model is called in labels when a request names none (set at start).
DEFAULT_MODEL = "default"


@dataclass
class Probes:
    """Read at each scrape: the present state of the process (each may stay unset)."""

    queue_jobs: Callable[[], Mapping[str, int]] | None = None
    """Waiting jobs by model."""
    running_jobs: Callable[[], int] | None = None
    voice_players: Callable[[], int] | None = None
    workers: Callable[[], Mapping[str, int]] | None = None
    """GPU workers online by model they serve (Redis mode)."""
    loop_stall_s: Callable[[], float] | None = None
    """The worst event-loop stall since the last call (the call starts a new window)."""
    gateway_connected: Callable[[], bool] | None = None
    """Whether every gateway shard of the bot is connected (the bot only)."""
    ready: Callable[[], bool] | None = None
    """Whether ``/readyz`` would answer 200."""
    models: tuple[str, ...] = field(default=())
    """Models to show with 0 before they have any job (so rates start from a sample)."""


class _Live(Collector):
    """The scrape-time gauges (see :class:`Probes`)."""

    def __init__(self, probes: Probes) -> None:
        self.probes = probes

    def describe(self) -> Iterable[Metric]:
        return list(self._families(read=False))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(read=True))

    def _families(self, *, read: bool) -> Iterator[Metric]:
        p = self.probes
        queue = GaugeMetricFamily(
            "ambientgen_queue_jobs", "Jobs waiting in the queue, by model.", labels=["model"]
        )
        workers = GaugeMetricFamily(
            "ambientgen_workers", "GPU workers online, by model they serve (Redis mode).", labels=["model"]
        )
        running = GaugeMetricFamily("ambientgen_running_jobs", "Jobs generating now (handed to a GPU).")
        players = GaugeMetricFamily("ambientgen_voice_players", "Voice channels playing now.")
        stall = GaugeMetricFamily(
            "ambientgen_event_loop_stall_seconds",
            "Worst lateness of the event loop since the previous scrape (anything blocking it).",
        )
        gateway = GaugeMetricFamily(
            "ambientgen_gateway_connected", "1 while every Discord gateway shard of the bot is connected."
        )
        ready = GaugeMetricFamily("ambientgen_ready", "1 while /readyz answers 200 (this process can work).")
        if read:
            if p.gateway_connected is not None:
                gateway.add_metric([], 1.0 if p.gateway_connected() else 0.0)
            if p.ready is not None:
                ready.add_metric([], 1.0 if p.ready() else 0.0)
            by_model = dict.fromkeys(p.models, 0)
            if p.queue_jobs is not None:
                by_model.update(p.queue_jobs())
            for model, count in sorted(by_model.items()):
                queue.add_metric([model], count)
            if p.workers is not None:
                for model, count in sorted(p.workers().items()):
                    workers.add_metric([model], count)
            running.add_metric([], p.running_jobs() if p.running_jobs is not None else 0)
            players.add_metric([], p.voice_players() if p.voice_players is not None else 0)
            stall.add_metric([], p.loop_stall_s() if p.loop_stall_s is not None else 0.0)
        yield from (queue, running, players, workers, stall, gateway, ready)


class Metrics:
    """Every metric of AmbientGen, registered on one registry (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.default_model = DEFAULT_MODEL
        self.jobs = Counter(
            "ambientgen_jobs",
            "Jobs by outcome (accepted, delivered, failed, cancelled, refused) and model.",
            ["outcome", "model"],
            registry=r,
        )
        self.queue_wait = Histogram(
            "ambientgen_queue_wait_seconds",
            "From accepted to started on a GPU.",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.render = Histogram(
            "ambientgen_render_seconds",
            "One batch's generation on the GPU, by model.",
            ["model"],
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.job_seconds = Histogram(
            "ambientgen_job_seconds",
            "From accepted to delivered (the result posted).",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.gpu_busy = Counter(
            "ambientgen_gpu_busy_seconds",
            "Seconds the GPU spent generating, by model.",
            ["model"],
            registry=r,
        )
        self.batch_size = Histogram(
            "ambientgen_batch_size", "Clips generated in one model call.", buckets=BATCH_BUCKETS, registry=r
        )
        self.discord_errors = Counter(
            "ambientgen_discord_errors",
            "Failed calls to Discord's API, by HTTP status (or network, timeout).",
            ["status"],
            registry=r,
        )
        self.background_renders = Counter(
            "ambientgen_background_renders",
            "Renders started in the background for endless scenes.",
            registry=r,
        )
        self.probes = Probes()
        r.register(_Live(self.probes))
        self._children: dict[tuple[object, ...], Any] = {}
        """Labelled children by (metric, labels): a dict hit instead of ``labels()``'s lock and checks."""

    # -- labels ---------------------------------------------------------------------------------

    def model(self, name: str | None) -> str:
        """The label of a request's model (``None``: the default model)."""
        return name or self.default_model

    def prepare(self, models: Iterable[str]) -> None:
        """Show every outcome of every model at 0 from the start; the first is the default model."""
        models = tuple(models)
        if models:
            self.default_model = models[0]
        self.probes.models = models
        for model in models:
            for outcome in OUTCOMES:
                self.jobs.labels(outcome, model)
            self.render.labels(model)
            self.gpu_busy.labels(model)

    # -- events (each called at the transition it names) ------------------------------------------

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def job_event(self, outcome: str, model: str | None) -> None:
        self._child(self.jobs, outcome, self.model(model)).inc()

    def job_started(self, waited_s: float) -> None:
        self.queue_wait.observe(max(0.0, waited_s))

    def job_delivered(self, model: str | None, total_s: float) -> None:
        self._child(self.jobs, "delivered", self.model(model)).inc()
        self.job_seconds.observe(max(0.0, total_s))

    def batch_rendered(self, model: str | None, seconds: float, clips: int) -> None:
        label = self.model(model)
        self._child(self.render, label).observe(seconds)
        self._child(self.gpu_busy, label).inc(seconds)
        self.batch_size.observe(clips)

    def discord_error(self, status: int | str) -> None:
        self._child(self.discord_errors, str(status)).inc()


_current = Metrics()


def metrics() -> Metrics:
    """This process's metrics."""
    return _current


def use(replacement: Metrics) -> Metrics:
    """Make ``replacement`` current (tests); returns the one it replaces."""
    global _current
    previous, _current = _current, replacement
    return previous
