"""`pingfan run` over the whole bundled campaign, compressed: memory and idle-poll cost.

A simulator process replays 2019-07-01..10-08 at ~96,000x (the campaign in about 90 s);
`pingfan run` (Weibo, no browser) polls it as a real deployment would, with second-long
intervals. Every half second this samples the resident memory of the daemon and of its
scoring worker (/proc). At the end: peak and per-quarter RSS (flat after warm-up?), what was
collected, and the requests of each source's last poll once the campaign is over (an idle
poll: the goal is at most 2).

Run: `python -m benchmarks.daemon_replay` (part of `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.processes import children, rss_mb
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens

CAMPAIGN_SECONDS = 90.0
SETTLE_SECONDS = 15.0  # after the campaign's end: idle polls


def _serve(speed: float, out: Any) -> None:
    from monitor.sim.app import SimServer, Simulator
    from monitor.sim.clock import ReplayClock
    from monitor.sim.world import load_world

    async def main() -> None:
        world = load_world()
        clock = ReplayClock(world.start, speed)
        async with SimServer(Simulator(world, clock, requests_per_minute=10_000_000)) as sim:
            out.put((sim.weibo_url, sim.weibo_topic_url))
            await asyncio.Event().wait()

    asyncio.run(main())


def _config(weibo: str, topic: str) -> str:
    return f"""[storage]
path = "replay.db"
comment_retention_days = 0
[[topics]]
name = "平凡大连人"
[[kols]]
platform = "weibo"
id = "1000000001"
name = "大连身边事"
[official]
weibo = ["1000000000"]
[weibo]
base_url = "{weibo}"
topic_base_url = "{topic}"
requests_per_minute = 30000
burst = 10
cookie_env = "PINGFAN_BENCH_NO_COOKIE"
cooldown = "5s"
[douyin]
enabled = false
[schedule]
topic_posts = "1s"
topic_stats = "2s"
kol_posts = "1s"
profiles = "10s"
comments_hot = "1s"
comments_cold = "5s"
[health]
port = 0
[[sinks]]
type = "jsonl"
path = "alerts.jsonl"
"""


def main() -> None:
    from monitor.sim.world import load_world

    world = load_world()
    speed = (world.end - world.start).total_seconds() / CAMPAIGN_SECONDS
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    sim = context.Process(target=_serve, args=(speed, urls), daemon=True)
    sim.start()
    samples: list[tuple[float, float, float]] = []
    child_peaks: dict[int, list[float]] = {}  # pid -> [peak MB, first seen s, last seen s, last MB]
    try:
        weibo, topic = urls.get(timeout=120)
        with tempfile.TemporaryDirectory() as workdir:
            config = Path(workdir) / "config.toml"
            config.write_text(_config(weibo, topic), encoding="utf-8")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config),
                 "--log-level", "WARNING", "run"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            started = time.monotonic()
            while time.monotonic() - started < CAMPAIGN_SECONDS + SETTLE_SECONDS:
                time.sleep(0.5)
                now = time.monotonic() - started
                for child in children(daemon.pid):
                    seen = child_peaks.setdefault(child, [0.0, now, now, 0.0])
                    seen[3] = rss_mb(child)
                    seen[0], seen[2] = max(seen[0], seen[3]), now
                worker = max((rss_mb(c) for c in children(daemon.pid)), default=0.0)
                samples.append((now, rss_mb(daemon.pid), worker))
            high_water = (
                rss_mb(daemon.pid, "VmHWM"),
                max((rss_mb(c, "VmHWM") for c in children(daemon.pid)), default=0.0),
            )
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=60)
            with Store.open_to_read(
                Path(workdir) / "replay.db", search_tokens=jieba_search_tokens
            ) as store:
                tables = store.reports.table_counts()
                counts = {t: tables[t] for t in ("posts", "comments", "post_metrics", "alerts")}
                unscored = store.reports.label_counts().get(None, 0)
                runs = sorted(store.runtime.sources(), key=lambda s: -s.last_requests)
                idle = [(source.name, source.last_requests) for source in runs]
    finally:
        sim.terminate()
        sim.join()
    peak = max(s[1] for s in samples)
    worker_peak = max(s[2] for s in samples)
    quarter = CAMPAIGN_SECONDS / 4
    quarters = [
        max((s[1] for s in samples if q * quarter <= s[0] < (q + 1) * quarter), default=0.0)
        for q in range(4)
    ]
    print(f"daemon replay: the whole campaign at {speed:,.0f}x in {CAMPAIGN_SECONDS:.0f} s")
    print(f"exit code {daemon.returncode}; stderr lines {len(err.decode().splitlines())}")
    for line in err.decode().splitlines()[:5]:
        print(f"  stderr: {line}")
    print(f"collected: {json.dumps(counts)}, unscored after stop: {unscored}")
    print(
        f"peak RSS sampled every 0.5 s: daemon {peak:.0f} MB, largest child {worker_peak:.0f} MB;"
        f" high-water mark (VmHWM, every byte ever resident at once): daemon"
        f" {high_water[0]:.0f} MB, scoring worker {high_water[1]:.0f} MB;"
        f" daemon peak per quarter of the campaign: "
        + ", ".join(f"{q:.0f}" for q in quarters)
        + " MB"
    )
    print(
        "the daemon's child processes (the scoring worker lives to the end; one-off ones:"
        " jieba's tables at start, digest charts): "
        + "; ".join(
            f"peak {peak:.0f} MB, last {now:.0f} MB, seen {first:.1f}-{last:.1f} s"
            for peak, first, last, now in child_peaks.values()
        )
    )
    print(
        "requests of each source's last (idle) poll: "
        + ", ".join(f"{name}={n}" for name, n in idle)
    )


if __name__ == "__main__":
    main()
