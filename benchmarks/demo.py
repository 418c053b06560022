"""`pingfan demo`, several times: wall time, the daemon's memory, how late the scripted
threads were alerted, and whether a run beside busy processes tells the same story.

Each run is the command a newcomer types (`python -m monitor demo --out DIR`), in a process
of its own. Every half second this reads the high-water mark (VmHWM) of the demo's process,
which runs the daemon and the live view, and of its children (the simulator, the scoring
worker, the one-off processes). After the run it opens the demo's database and measures, for
each thread the scenario scripts to turn negative or to take off, the simulated time from
the moment there was enough to see it to pingfan's first alert on it, in comment polls.

With `--hogs N` every run after the first has N CPU-bound processes beside it (a busy loop
each). The demo runs on simulated time that waits for the work, so each run's reduced alert
list (kind, subject, dedupe key, severity, simulated time) and its `summary.md` must be
identical to the first run's; only the wall time may differ.

Goals (issue 19): every scripted thread alerted within 1 poll; the same alerts and summary
lines idle and busy; the daemon at most 150 MB without a browser (issue 15). `make demo`'s
wall time on a fresh clone adds the set-up (the venv, the packages) to the run measured here:
time it with `time make demo` in a new clone.

Run: `python -m benchmarks.demo [--runs N] [--hogs N]` (part of `make bench`: two runs, the
second beside two busy processes).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.processes import children, cpu_hogs, name, rss_mb
from nlp.search_tokens import jieba_search_tokens

DAEMON_GOAL_MB = 150.0
LATENCY_GOAL_POLLS = 1.0
ReducedAlert = tuple[str, str, str, str, str]  # kind, subject, dedupe key, severity, time


@dataclass(frozen=True)
class DemoRun:
    seconds: float
    exit_code: int
    daemon_mb: float
    children_mb: dict[str, float]  # process name -> high-water mark
    latencies: list[tuple[str, float | None]]  # (thread, polls late; None: no alert)
    alerts: list[ReducedAlert]
    summary: str  # summary.md: the scenario's story, which must not depend on the machine
    hogs: int = 0


def reduced_alerts(out_dir: Path) -> list[ReducedAlert]:
    """What each alert of a demo says happened, without what differs between runs by design
    (the simulator's port in URLs, file paths)."""
    path = out_dir / "alerts.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return reduced(rows)


def reduced(alerts: list[dict[str, Any]]) -> list[ReducedAlert]:
    return [
        (a["kind"], a["subject_id"] or "", a["dedupe_key"], a["severity"], a["created_at"])
        for a in alerts
    ]


def read_summary(out_dir: Path) -> str:
    path = out_dir / "summary.md"
    return path.read_text("utf-8") if path.exists() else ""


def run_once(out_dir: Path, hogs: int = 0) -> DemoRun:
    with cpu_hogs(hogs):
        run = _run(out_dir)
    return DemoRun(**{**run.__dict__, "hogs": hogs})


def _run(out_dir: Path) -> DemoRun:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--out", str(out_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = 0.0
    seen: dict[str, float] = {}
    while process.poll() is None:
        daemon = max(daemon, rss_mb(process.pid, "VmHWM"))
        for child in children(process.pid):
            label = f"{name(child)} ({child})"
            seen[label] = max(seen.get(label, 0.0), rss_mb(child, "VmHWM"))
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    return DemoRun(
        seconds,
        process.returncode,
        daemon,
        seen,
        _latencies(out_dir),
        reduced_alerts(out_dir),
        read_summary(out_dir),
    )


def _latencies(out_dir: Path) -> list[tuple[str, float | None]]:
    from monitor.demo import SimUrls, demo_config, scripted_threads
    from monitor.sim.world import load_world
    from monitor.store import Store

    world = load_world()
    config = demo_config(SimUrls("http://sim", "http://sim", "http://sim"), world, out_dir)
    poll = config.schedule.comments_hot
    database = out_dir / "pingfan-demo.db"
    if not database.exists():
        return []
    with Store.open(database, search_tokens=jieba_search_tokens) as store:
        threads = scripted_threads(store, world, config, world.end)
    found: list[tuple[str, float | None]] = []
    for thread in threads:
        late = None
        if thread.alerted_at is not None:
            late = max((thread.alerted_at - thread.turned_at).total_seconds(), 0.0) / poll
        found.append((f"{thread.kind}: {thread.text[:12]}", late))
    return found


def _shares_gap(summary: str) -> str:
    """The summary's sentiment line, shares beside the truth, and its largest gap."""
    line = next((ln for ln in summary.splitlines() if ln.startswith("- 评论情绪")), "")
    found = re.search(r"最多相差 ([0-9.]+) 个百分点", line)
    if not found:
        return "no shares in summary.md"
    shares = line.split("：", 1)[-1].split("；", 1)[0]
    return f"largest gap {found.group(1)} points ({shares})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.demo")
    parser.add_argument("--runs", type=int, default=3, help="demo runs (default: 3)")
    parser.add_argument(
        "--hogs", type=int, default=0, help="busy processes beside every run after the first"
    )
    args = parser.parse_args(argv)
    print(f"pingfan demo, {args.runs} run(s): wall time, memory, alert latency in comment polls")
    runs = []
    with tempfile.TemporaryDirectory(prefix="pingfan-bench-demo-") as scratch:
        for index in range(args.runs):
            run = run_once(Path(scratch) / f"run{index + 1}", args.hogs if index else 0)
            runs.append(run)
            largest = max(run.children_mb.items(), key=lambda item: item[1], default=("-", 0.0))
            late = ", ".join(
                f"{name} {'no alert' if polls is None else f'{polls:.1f}'}"
                for name, polls in run.latencies
            )
            print(
                f"run {index + 1} ({run.hogs} busy processes beside it): "
                f"exit {run.exit_code}, {run.seconds:.0f} s; daemon (VmHWM) "
                f"{run.daemon_mb:.0f} MB, largest child {largest[0]} {largest[1]:.0f} MB; "
                f"late by: {late}"
            )
    latencies = [polls for run in runs for _, polls in run.latencies]
    missed = sum(polls is None for polls in latencies)
    measured = [polls for polls in latencies if polls is not None]
    worst_mb = max(run.daemon_mb for run in runs)
    first_summary = runs[0].summary
    print("| measure | figure | goal |")
    print("| --- | --- | --- |")
    print(
        f"| demo wall time (no set-up) | median {statistics.median(r.seconds for r in runs):.0f} s,"
        f" max {max(r.seconds for r in runs):.0f} s | make demo ≤ 180 s with set-up |"
    )
    print(f"| daemon peak RSS (VmHWM) | max {worst_mb:.0f} MB | ≤ {DAEMON_GOAL_MB:.0f} MB |")
    print(
        f"| sentiment shares vs the scenario's truth | {_shares_gap(first_summary)} | ≤ 3 points |"
    )
    if measured:
        print(
            f"| scripted threads alerted late by | median {statistics.median(measured):.2f},"
            f" max {max(measured):.2f} polls; {missed} without an alert |"
            f" ≤ {LATENCY_GOAL_POLLS:.0f} polls |"
        )
    else:
        print(f"| scripted threads alerted | none of {len(latencies)} | all |")
    first = runs[0]
    for index, run in enumerate(runs[1:], start=2):
        same = run.alerts == first.alerts and run.summary == first.summary
        print(
            f"| run {index} ({run.hogs} busy) vs run 1 | {len(run.alerts)} vs {len(first.alerts)}"
            f" alerts, {'identical' if same else 'DIFFERENT'} (reduced alerts and summary.md)"
            " | identical |"
        )
        if not same:
            missing = sorted(set(first.alerts) - set(run.alerts))[:5]
            extra = sorted(set(run.alerts) - set(first.alerts))[:5]
            print(f"  only in run 1: {missing}\n  only in run {index}: {extra}")


if __name__ == "__main__":
    main()
