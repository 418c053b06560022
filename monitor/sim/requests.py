"""Who asked the simulator what, and when: one entry per request, with the identity the
platform would see (the Cookie header it received; "" for none), the simulated time and the
real time. A test checks politeness from it: never more than `requests_per_minute` + `burst`
per identity in any minute."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SeenRequest:
    site: str  # weibo, weibo_topic, douyin, douyin_open
    identity: str  # the Cookie header as received ("" when none was sent)
    path: str
    at: datetime  # the simulator's (simulated) time
    real: float  # time.time() when it arrived


def most_in_any_minute(moments: Iterable[float], window: float = 60.0) -> int:
    """The most of `moments` (seconds) that fall in any `window`-second span, both ends
    included (a sliding window over the sorted moments)."""
    ordered = sorted(moments)
    most = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most


def by_identity(log: Iterable[SeenRequest], *, real: bool = True) -> dict[str, list[float]]:
    """Each identity's request times, in real seconds (or simulated ones, `real=False`).
    A platform's two sites (m.weibo.cn, m.s.weibo.com) see the same cookie: one identity."""
    found: dict[str, list[float]] = defaultdict(list)
    for seen in log:
        platform = seen.site.removesuffix("_topic").removesuffix("_open")
        found[f"{platform}|{seen.identity}"].append(seen.real if real else seen.at.timestamp())
    return dict(found)
