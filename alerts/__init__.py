"""Alerts: rules over stored facts, the outbox, and the sinks that deliver it.

- `alerts.engine.evaluate(store, config, now)` runs every enabled rule (alerts/rules/) at
  `now` and enqueues new alerts with their rule state, in one transaction each;
- `alerts.dispatch.Dispatcher(config, store)` sends what the outbox holds to every enabled
  sink (alerts/sinks/), tracked per (alert, sink);
- `alerts.render` holds the zh/en wording and each sink's escaping;
- `alerts.health` builds the collector-health alerts the collectors raise themselves.
"""
