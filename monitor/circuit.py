"""A circuit per platform: a block opens it for a cool-down, a successful probe closes it.

One opening is one outage: the caller raises one alert for it and logs the state change once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass


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
        name: str,
        *,
        cooldown: float = 1800.0,
        max_cooldown: float = 6 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.state = CircuitState.CLOSED
        self.reason = ""
        self._base = cooldown
        self._max = max_cooldown
        self._cooldown = cooldown
        self._until = 0.0
        self._clock = clock

    def allow(self) -> bool:
        """May a request go out now? After the cool-down one probe is let through."""
        if self.state is CircuitState.OPEN and self._clock() >= self._until:
            self.state = CircuitState.HALF_OPEN
        return self.state is not CircuitState.OPEN

    def record_success(self) -> Transition | None:
        if self.state is CircuitState.CLOSED:
            return None
        self.state = CircuitState.CLOSED
        self._cooldown = self._base
        return Transition("recovered", self.reason)

    def record_block(self, reason: str) -> Transition | None:
        """Open (or re-open) the circuit; a Transition only when an outage begins."""
        was = self.state
        if was is CircuitState.HALF_OPEN:  # the probe failed: wait longer next time
            self._cooldown = min(self._cooldown * 2, self._max)
        self.state = CircuitState.OPEN
        self._until = self._clock() + self._cooldown
        if was is CircuitState.CLOSED:
            self.reason = reason
            return Transition("opened", reason)
        return None

    def seconds_left(self) -> float:
        return max(self._until - self._clock(), 0.0) if self.state is CircuitState.OPEN else 0.0
