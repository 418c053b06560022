"""A platform's pauses and recoveries, as the runner reports them, become health alerts in the
outbox (alerts/health.py writes their texts): one per outage, one when it ends."""

from __future__ import annotations

import asyncio

from alerts.health import blocked_alert, recovered_alert
from monitor.runtime.runner import Outage, OutageReport, Paused
from monitor.store import Store


def health_alerts(
    store: Store, language: str, *, wake: asyncio.Event | None = None
) -> OutageReport:
    """The runner's `on_outage`. A pause also sets `wake` (the dispatcher's): that collection
    stopped is sent at once, not after the next scoring round; a recovery goes out with the
    alerts of that round."""

    def report(outage: Outage) -> None:
        if isinstance(outage, Paused):
            alert = blocked_alert(
                outage.platform,
                outage.reason,
                outage.cooldown_seconds,
                outage.at,
                language,
                cause=outage.cause,
            )
            store.outbox.enqueue_alert(alert)
            if wake is not None:
                wake.set()
        else:
            store.outbox.enqueue_alert(recovered_alert(outage.platform, outage.at, language))

    return report
