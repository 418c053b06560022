"""The daemon's numbers, in Prometheus form (served at /metrics by the health endpoint).

A registry per runtime rather than the global one: tests and the demo can run several
runtimes in one process without their counters mixing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from monitor.runtime.sources import Source, StepResult


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "pingfan_polls", "Source runs by outcome", ["platform", "source", "status"], registry=r
        )
        self.requests = Counter(
            "pingfan_requests", "Requests sent to a platform", ["platform"], registry=r
        )
        self.rows = Counter("pingfan_rows", "Rows stored by sources", ["platform"], registry=r)
        self.errors = Counter("pingfan_errors", "Source runs that failed", ["platform"], registry=r)
        self.blocks = Counter(
            "pingfan_blocks", "Blocks answered by a platform", ["platform"], registry=r
        )
        self.scored = Counter("pingfan_scored_comments", "Comments scored", registry=r)
        self.scoring_seconds = Counter(
            "pingfan_scoring_seconds", "Wall time spent scoring comments", registry=r
        )
        self.unscored = Gauge(
            "pingfan_unscored_comments", "Comments waiting for a score", registry=r
        )
        self.pending_alerts = Gauge(
            "pingfan_pending_alerts", "Alerts in the outbox not sent yet", registry=r
        )
        self.alerts_sent = Counter("pingfan_alerts_sent", "Alerts delivered", registry=r)
        self.circuit_open = Gauge(
            "pingfan_circuit_open", "1 while a platform's circuit is open", ["platform"], registry=r
        )
        self.loop_lag = Gauge(
            "pingfan_event_loop_max_lag_seconds", "Longest event-loop stall seen", registry=r
        )
        self.purged = Counter(
            "pingfan_purged_comments", "Comments deleted by the retention limit", registry=r
        )

    def record_poll(self, source: Source, result: StepResult) -> None:
        self.polls.labels(source.platform, source.name, result.status).inc()
        self.requests.labels(source.platform).inc(result.requests)
        self.rows.labels(source.platform).inc(result.rows)
        if result.status == "failed":
            self.errors.labels(source.platform).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
