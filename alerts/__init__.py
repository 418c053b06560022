"""Alerts: rules over stored facts, the outbox, and the sinks that deliver it.

- `alerts.engine.evaluate(store, config, now)` runs every enabled rule (alerts/rules/) at
  `now` and enqueues new alerts with their rule state, in one transaction each;
- `alerts.dispatch.Dispatcher(config, store)` sends what the outbox holds to every enabled
  sink (alerts/sinks/), tracked per (alert, sink);
- `alerts.i18n` holds every user-facing text, one catalogue per language (zh, en), and the
  number and time formats; `alerts.safe_text` masks authors, makes user text inert and holds
  each sink's escaping; `alerts.chat_markup` is the digest's short form for each chat;
- `alerts.health` builds the collector-health alerts the collectors raise themselves.
"""
