"""Browser mode's memory over a long run: the whole bundled campaign replayed in one-day
steps through the real Douyin collector in Debian's headless Chromium (one browser, one
context, one page for the whole run), against the simulator on loopback.

Measured after every pass: the proportional set size (PSS) of the Chromium process tree (what
`[douyin] browser_memory_limit_mb` is compared with), the resident size of the Playwright
driver (node) and of this Python process. Shared pages are split among the processes that
share them, so the Chromium figure is the tree's real share of memory, not a sum of RSS.

    python -m benchmarks.douyin_browser_memory [--limit MB] [--days N]

`--limit 0` (the default) disables relaunching, to show how the browser grows on its own;
a limit shows the relaunches that keep it under the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from monitor.collectors.douyin import DouyinCollector
from monitor.collectors.douyin_client import PARAMS_SCRIPT
from monitor.config import config_from_dict
from monitor.parse.douyin import wall_in
from monitor.runtime.browser import (
    BrowserOptions,
    BrowserTransport,
    process_memory_kb,
    process_tree,
)
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.runtime.fetch import Fetcher
from monitor.runtime.pacing import Pacer
from monitor.runtime.runner import PlatformRunner
from monitor.sim.app import SimServer, Simulator
from monitor.sim.clock import ManualClock
from monitor.sim.world import load_world
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens

CHROMIUM = Path("/usr/bin/chromium")
CH_ID = "1637261535424513"


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def driver_mb(browser_pids: set[int]) -> float:
    """Resident size of this process's children outside the browser tree (the driver)."""
    return sum(rss_mb(pid) for pid in process_tree(os.getpid())[1:] if pid not in browser_pids)


async def replay(limit_mb: float, days: int, out: list[str]) -> None:
    world = load_world()
    at = world.start + timedelta(hours=12)
    sim_clock = ManualClock(at)
    async with SimServer(Simulator(world, sim_clock, requests_per_minute=10**9)) as server:
        with tempfile.TemporaryDirectory() as tmp:
            config = config_from_dict(
                {
                    "storage": {"path": "bench.db", "comment_retention_days": 0},
                    "topics": [{"name": "平凡大连人", "douyin_ch_id": CH_ID}],
                    "kols": [
                        {"platform": "douyin", "id": a.id, "name": a.name}
                        for a in world.accounts.values()
                        if a.platform == "douyin" and a.kind == "kol"
                    ],
                    "weibo": {"enabled": False},
                    "douyin": {"base_url": server.douyin_url, "cookie_env": ""},
                },
                Path(tmp) / "config.toml",
            )
            clock = VirtualClock(at)
            with Store.open(config.storage.path, search_tokens=jieba_search_tokens) as store:
                circuit = Circuit("douyin", store, clock)
                options = BrowserOptions(
                    chromium_path=CHROMIUM,
                    home_url=f"{server.douyin_url}/",
                    memory_limit_mb=limit_mb or float("inf"),
                    params_script=PARAMS_SCRIPT,
                    wall_check=wall_in,
                    memory_check_every=25,
                )
                pacer = Pacer(10**9, clock, burst=100)
                browser = BrowserTransport(name="douyin", options=options)
                async with Fetcher(
                    name="douyin", transport=browser, pacer=pacer, clock=clock, gate=circuit,
                    single_flight=True,
                ) as fetcher:  # fmt: skip
                    collector = DouyinCollector(config, store, fetcher, clock)
                    runner = PlatformRunner("douyin", store, clock, circuit)
                    sources = collector.sources()
                    started = time.perf_counter()
                    peak = 0.0
                    for day in range(days + 1):
                        report = await runner.run_all(sources)
                        tree = set(process_tree(browser.browser_pid or -1))
                        chromium = sum(process_memory_kb(p) for p in tree) / 1024
                        peak = max(peak, chromium)
                        if day % 10 == 0 or day == days:
                            comments = store.reports.table_counts()["comments"]
                            out.append(
                                f"| {day:>3} | {fetcher.requests:>6,} | {chromium:>7.0f} | "
                                f"{driver_mb(tree):>6.0f} | {rss_mb(os.getpid()):>6.0f} | "
                                f"{browser.launches:>3} | {comments:>6,} |"
                            )
                        assert not report.blocked, report.summary()
                        if sim_clock.now() >= world.end:
                            break
                        step = min(timedelta(days=1), world.end - sim_clock.now())
                        sim_clock.advance(seconds=step.total_seconds())
                        clock.advance(step.total_seconds())
                    seconds = time.perf_counter() - started
                    out.append(
                        f"\n{fetcher.requests:,} requests in {seconds:.0f} s "
                        f"({fetcher.requests / seconds:.0f}/s); Chromium tree peak {peak:.0f} MB "
                        f"PSS (largest reading at a check: {browser.peak_memory_mb:.0f} MB); "
                        f"launches {browser.launches}; relaunch reasons: "
                        f"{sorted(set(browser.restarts)) or 'none'}"
                    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=0.0, help="MB; 0: no relaunch")
    parser.add_argument("--days", type=int, default=100, help="campaign days to replay")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: apt-get install chromium")
        return
    limit = f"limit {args.limit:.0f} MB" if args.limit else "no limit"
    out = [
        f"Douyin browser mode, bundled campaign replayed a day a pass ({limit})",
        "",
        "| day | requests | Chromium PSS MB | driver RSS MB | Python RSS MB | launches"
        " | comments |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    asyncio.run(replay(args.limit, args.days, out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
