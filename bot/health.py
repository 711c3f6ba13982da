"""``/metrics``, ``/healthz`` and ``/readyz`` over HTTP, on the process's own event loop.

Served by aiohttp beside the bot (or a GPU worker) when ``[metrics] port`` is set:

- ``/metrics`` — Prometheus text format, through ``prometheus_client``'s aiohttp handler;
- ``/healthz`` — 200 as long as the event loop runs (it answers from the loop itself);
- ``/readyz`` — 200 when the process can do its work, else 503 with a one-line reason
  (the bot: the Discord gateway connected and a model, or in Redis mode a GPU worker, ready;
  a worker: its models loaded and Redis reachable).

Scrapes render on the loop, which is cheap (a few dozen series) and reads the live gauges
without crossing threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.metrics import metrics

log = logging.getLogger(__name__)

Readiness = Callable[[], str | None]
"""Why the process is not ready (one line), or None when it is."""


class HealthServer:
    """The three endpoints on ``host:port`` (port 0 in tests: a free one, see :attr:`port`)."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, readiness: Readiness) -> None:
        self.host = host
        self.port = port
        self.readiness = readiness
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(registry))
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        # No access log: a scrape every 15 s would drown the bot's own lines.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._started = False

    async def start(self) -> None:
        """Listen; raises :class:`OSError` when the address can't be bound."""
        await self._runner.setup()
        try:
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self._started = True
        if self._runner.addresses:  # the port really bound (0 asks for a free one)
            self.port = int(self._runner.addresses[0][1])
        log.info("metrics and health on http://%s:%d (/metrics, /healthz, /readyz)", self.host, self.port)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        try:
            problem = self.readiness()
        except Exception as exc:  # a probe that breaks is a reason, never a 500 with a traceback
            log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
            problem = f"the readiness check failed ({type(exc).__name__})"
        if problem is None:
            return web.Response(text="ready\n")
        return web.Response(status=503, text=problem.splitlines()[0] + "\n")


class HealthUnavailable(RuntimeError):
    """The endpoints can't listen where configured; the message is one line for the operator."""


async def start_health(host: str, port: int, readiness: Readiness) -> HealthServer | None:
    """Serve this process's metrics (:func:`bot.metrics.metrics`) and health on ``host:port``;
    None when ``port`` is 0 (off). Raises :class:`HealthUnavailable` when it can't listen there."""
    if not port:
        return None
    metrics().probes.ready = lambda: readiness() is None
    server = HealthServer(host, port, metrics().registry, readiness)
    try:
        await server.start()
    except OSError as exc:
        raise HealthUnavailable(
            f"the metrics port {host}:{port} can't be opened ({exc.strerror or exc}); "
            "choose another [metrics] port or host"
        ) from None
    return server
