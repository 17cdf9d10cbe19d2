"""Health, readiness and metrics of one bot instance, for whatever watches it (systemd, Kubernetes, Prometheus).

Served on ``[metrics] address`` (``ALPHASMS_METRICS_ADDRESS``, ``host:port``;
off when unset), in the bot's own event loop:

- ``/healthz``: 200 while the process runs its loop (liveness: restart it if this fails);
- ``/readyz``: 200 when the store answers, Telegram answers, and the status
  poll (which also forwards the replies) ran recently; else 503 with the
  reasons, one a line. While PostgreSQL is down the bot keeps running and
  ``/healthz`` stays 200: ``/readyz`` is where the outage shows;
- ``/metrics``: Prometheus' text format (``prometheus_client``, a registry of
  this instance's own): sends by channel and outcome, status changes, replies
  forwarded, poll cycle durations, messages being followed, Telegram and
  provider errors, and the balance (read at most once a minute).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..results import Outcome
    from ..status_poll import PollStats
    from .context import Services

__all__ = ["Monitor"]

log = logging.getLogger("alphasms_notify.bot")

CHECK_TIMEOUT = 3.0  # seconds a readiness check may take before it counts as failed
BALANCE_EVERY = 60.0  # seconds between two balance reads for the gauge


class Monitor:
    """The counters the bot updates, and the small web server that shows them.

    It is also a plugin (registered in the bot's plugin manager): every send of this
    instance, from any command, is counted in ``alphasms_message_sent``.
    """

    def __init__(self, poll_interval: float, bot: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sends = Counter("alphasms_sends", "Messages sent by this instance, by channel and outcome",
                             ["channel", "outcome"], registry=r)
        self.status_changes = Counter("alphasms_status_changes", "Delivery status changes seen by the poll",
                                      registry=r)
        self.replies_forwarded = Counter("alphasms_replies_forwarded", "Viber replies forwarded to Telegram",
                                         registry=r)
        self.poll_seconds = Histogram("alphasms_poll_cycle_seconds", "Duration of one status poll cycle",
                                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r)
        self.tracked = Gauge("alphasms_tracked_messages", "Messages whose final status is not yet known",
                             registry=r)
        self.telegram_errors = Counter("alphasms_telegram_errors", "Errors from the Telegram Bot API", registry=r)
        self.provider_errors = Counter("alphasms_provider_errors", "Requests to AlphaSMS that failed as a whole",
                                       registry=r)
        self.balance = Gauge("alphasms_balance", "The account balance at AlphaSMS (UAH)", registry=r)
        self.last_poll = Gauge("alphasms_last_poll_timestamp_seconds", "When the last status poll cycle ended",
                               registry=r)
        self.poll_interval = poll_interval
        self.bot = bot  # the Telegram bot, asked getMe for readiness
        self.started = time.time()
        self._last_poll_at: float | None = None
        self._balance_at = 0.0
        self._runner: web.AppRunner | None = None
        self.services: Services | None = None

    # -- what the bot reports -----------------------------------------------------------

    @hookimpl
    def alphasms_message_sent(self, message: Any, result: Outcome[Any]) -> None:
        outcome = "sent" if result.ok else "unknown" if result.unknown else "failed"
        self.sends.labels(channel=message.type, outcome=outcome).inc()

    def poll_done(self, stats: PollStats, seconds: float, forwarded: int) -> None:
        self.poll_seconds.observe(seconds)
        self.status_changes.inc(stats.changed)
        self.replies_forwarded.inc(forwarded)
        if stats.error:
            self.provider_errors.inc()
        self._last_poll_at = time.time()
        self.last_poll.set(self._last_poll_at)

    def telegram_error(self) -> None:
        self.telegram_errors.inc()

    async def refresh(self) -> None:
        """The gauges that need the store or the provider: messages followed, and the balance now and then."""
        services = self.services
        if services is None:
            return
        self.tracked.set(await services.store.run(services.store.messages.count_active))
        if time.time() - self._balance_at >= BALANCE_EVERY:
            self._balance_at = time.time()
            try:
                self.balance.set(float((await services.client.balance()).amount))
            except Exception as exc:  # noqa: BLE001 - a gauge left as it was; the poll reports the outage
                log.debug("balance not read for the metrics: %s", exc)

    # -- what the watchers ask ------------------------------------------------------------

    def stalled_after(self) -> float:
        return max(3 * self.poll_interval, 30.0)

    async def problems(self) -> list[str]:
        """Why this instance is not ready (empty when it is)."""
        services, found = self.services, []
        if services is None:
            return ["starting"]
        try:
            await asyncio.wait_for(services.store.run(services.store.ping), CHECK_TIMEOUT)
        except TimeoutError:
            found.append(f"store: no answer within {CHECK_TIMEOUT:g} s")
        except Exception as exc:  # noqa: BLE001 - any failure is a reason, said in one line
            found.append(f"store: {type(exc).__name__}: {_one_line(exc, services)}")
        try:
            await asyncio.wait_for(self.bot.get_me(), CHECK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001
            found.append(f"telegram: {type(exc).__name__}: {_one_line(exc, services)}")
        since = time.time() - (self._last_poll_at or self.started)
        if since > self.stalled_after():
            found.append(f"status poll and forwarder: no cycle for {since:.0f} s (every "
                         f"{self.poll_interval:g} s expected)")
        return found

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        found = await self.problems()
        if found:
            return web.Response(status=503, text="not ready\n" + "".join(f"{p}\n" for p in found))
        return web.Response(text="ready\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            await self.refresh()
        except Exception as exc:  # noqa: BLE001 - the counters are still worth showing
            log.debug("metrics gauges not refreshed: %s", exc)
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.add_routes([web.get("/healthz", self._healthz), web.get("/readyz", self._readyz),
                        web.get("/metrics", self._metrics)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("health, readiness and metrics on http://%s:%d/ (healthz, readyz, metrics)", host, port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _one_line(exc: BaseException, services: Services) -> str:
    """The error's text on one line, with the store's password and the bot token masked."""
    from ..logs import RedactSecrets

    secrets = [*services.settings.store.secrets(), services.settings.telegram.token]
    return RedactSecrets(secrets).redact(" ".join(str(exc).split()))[:300]
