"""Faults the simulator can inject, per request (tests, the control endpoint) or on the
scenario's own schedule."""

from __future__ import annotations

from dataclasses import dataclass

WEIBO_FAULTS = (
    "http432", "http418", "http403", "ok0", "captcha", "visitor", "no_permission",
    "slow", "timeout", "truncated", "duplicate",
)  # fmt: skip
DOUYIN_FAULTS = (
    "empty", "blocked", "no_list", "has_more_empty", "repeat_cursor", "slow", "timeout",
    "truncated", "duplicate",
)  # fmt: skip


@dataclass
class Fault:
    """`kind` on `platform` for requests whose path starts with `path` (None: any path),
    `count` times (None: until cleared)."""

    platform: str
    kind: str
    path: str | None = None
    count: int | None = 1
    delay: float = 2.0  # seconds, for "slow"

    def __post_init__(self) -> None:
        known = WEIBO_FAULTS if self.platform == "weibo" else DOUYIN_FAULTS
        if self.platform not in ("weibo", "douyin") or self.kind not in known:
            raise ValueError(f"unknown fault {self.platform}/{self.kind}; known: {known}")


class FaultBook:
    """Pending faults; the first match for a request is used up."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def take(self, platform: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.platform == platform and (fault.path is None or path.startswith(fault.path)):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None
