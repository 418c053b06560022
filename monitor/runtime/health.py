"""The loopback health endpoint of `pingfan run`: `/healthz` (JSON) and `/metrics`
(Prometheus text), on 127.0.0.1 only: it tells what the daemon sees, not the platforms' data."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from monitor.runtime.metrics import Metrics
from monitor.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerShare:
    """One of several workers on a PostgreSQL database: what it holds now."""

    owner: str  # what its leases carry (host:pid:random)
    leading: bool  # it runs the alert rules, the bot and the digest
    leases: int  # the leases it holds: sources, comment threads, identities
    identities: tuple[str, ...]  # the identities it sends with, by key (never a cookie)


def health_report(
    store: Store,
    now: datetime,
    intervals: dict[str, float],
    share: WorkerShare | None = None,
) -> dict[str, Any]:
    """Per source: last success, last error, next due; per platform: the circuit. A source
    is stale when it has not succeeded for three of its intervals. `share`: this worker's
    part of the work when several share a PostgreSQL database (None on SQLite)."""
    stored = {row.name: row for row in store.runtime.sources()}
    sources = []
    stale = 0
    for name, interval in intervals.items():
        row = stored.get(name)
        last_ok = row.last_success_at if row else None
        # Not stale before it had a chance: three intervals without a success.
        since = (now - last_ok).total_seconds() if last_ok else None
        is_stale = row is not None and row.failures >= 3 and (since is None or since > 3 * interval)
        stale += is_stale
        sources.append(
            {
                "name": name,
                "platform": name.split(":", 1)[0],
                "status": row.last_status if row else "not run yet",
                "last_success_at": last_ok.isoformat() if last_ok else None,
                "last_error": row.last_error if row else None,
                "due_at": row.due_at.isoformat() if row and row.due_at else None,
                "stale": is_stale,
            }
        )
    circuits = [
        {
            "platform": c.platform,
            "state": c.state,
            "reason": c.reason,
            "open_until": c.open_until.isoformat() if c.open_until else None,
        }
        for c in store.runtime.circuits()
    ]
    blocked = any(c["state"] != "closed" for c in circuits)
    status = "degraded" if blocked or stale else "ok"
    report: dict[str, Any] = {
        "status": status,
        "now": now.isoformat(),
        "sources": sources,
        "circuits": circuits,
    }
    if share is not None:
        report["worker"] = {**asdict(share), "identities": list(share.identities)}
    return report


def health_app(report: Callable[[], dict[str, Any]], metrics: Metrics) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        body = report()
        # 200 while the daemon works, even degraded: the JSON says what is wrong.
        return web.Response(
            text=json.dumps(body, ensure_ascii=False, indent=1), content_type="application/json"
        )

    async def metrics_page(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


class HealthServer:
    def __init__(self, app: web.Application, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self.port = port

    async def start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = addresses[0][1]
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()
