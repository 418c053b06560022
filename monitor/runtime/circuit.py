"""A circuit per platform: a block opens it for a cool-down, a successful probe closes it.

One opening is one outage: the runner raises one alert for it and logs the state change once.
The state lives in the database (`circuits`), so `collect --once` from cron and a restarted
daemon both respect a cool-down that an earlier process started.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import timedelta

from monitor.runtime.clock import Clock
from monitor.store import CircuitRow, Store


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Transition:
    kind: str  # "opened" | "recovered"
    reason: str


class Circuit:
    def __init__(
        self,
        platform: str,
        store: Store,
        clock: Clock,
        *,
        cooldown: float = 1800.0,
        max_cooldown: float = 6 * 3600.0,
    ) -> None:
        self.platform = platform
        self._store = store
        self._clock = clock
        self._base = cooldown
        self._max = max_cooldown
        saved = store.runtime.circuit(platform)
        self._row = saved or CircuitRow(platform, "closed", "", None, cooldown, 0)

    @property
    def state(self) -> CircuitState:
        return CircuitState(self._row.state)

    @property
    def reason(self) -> str:
        return self._row.reason

    def is_open(self) -> bool:
        """Open and cooling down: in-flight sources stop before their next request."""
        return self._row.state == "open"

    def allow(self) -> bool:
        """May a request go out now? After the cool-down, probes are let through."""
        row = self._row
        if row.state == "open" and (row.open_until is None or self._clock.now() >= row.open_until):
            self._save(replace(row, state="half_open", probes=row.probes + 1))
        return self._row.state != "open"

    def record_success(self) -> Transition | None:
        if self._row.state == "closed":
            return None
        reason = self._row.reason
        self._save(CircuitRow(self.platform, "closed", "", None, self._base, 0))
        return Transition("recovered", reason)

    def record_block(self, reason: str) -> Transition | None:
        """Open (or re-open) the circuit; a Transition only when an outage begins."""
        row = self._row
        cooldown = row.cooldown
        if row.state == "half_open":  # the probe failed: wait longer next time
            cooldown = min(cooldown * 2, self._max)
        until = self._clock.now() + timedelta(seconds=cooldown)
        opened = row.state == "closed"
        self._save(
            CircuitRow(self.platform, "open", reason if opened else row.reason, until, cooldown,
                       row.probes)
        )  # fmt: skip
        return Transition("opened", reason) if opened else None

    def seconds_left(self) -> float:
        if self._row.state != "open" or self._row.open_until is None:
            return 0.0
        return max((self._row.open_until - self._clock.now()).total_seconds(), 0.0)

    def _save(self, row: CircuitRow) -> None:
        self._row = row
        self._store.runtime.save_circuit(row, self._clock.now())
