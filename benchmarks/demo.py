"""`pingfan demo`, several times: wall time, the daemon's memory, and how late the scripted
threads were alerted.

Each run is the command a newcomer types (`python -m monitor demo --out DIR`), in a process
of its own. Every half second this reads the high-water mark (VmHWM) of the demo's process,
which runs the daemon and the live view, and of its children (the simulator, the scoring
worker, the one-off processes). After the run it opens the demo's database and measures, for
each thread the scenario scripts to turn negative or to take off, the simulated time from
the moment there was enough to see it to pingfan's first alert on it, in comment polls.

Goals (issue 15): the demo's daemon at most 150 MB without a browser; every scripted thread
alerted within 2 polls. `make demo`'s wall time on a fresh clone adds the set-up (the venv,
the packages) to the run measured here: time it with `time make demo` in a new clone.

Run: `python -m benchmarks.demo [--runs N]` (part of `make bench` with one run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import children, name, rss_mb

DAEMON_GOAL_MB = 150.0
LATENCY_GOAL_POLLS = 2.0


@dataclass(frozen=True)
class DemoRun:
    seconds: float
    exit_code: int
    daemon_mb: float
    children_mb: dict[str, float]  # process name -> high-water mark
    latencies: list[tuple[str, float | None]]  # (thread, polls late; None: no alert)


def run_once(out_dir: Path) -> DemoRun:
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
    return DemoRun(seconds, process.returncode, daemon, seen, _latencies(out_dir))


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
    with Store.open(database) as store:
        threads = scripted_threads(store, world, config, world.end)
    found: list[tuple[str, float | None]] = []
    for thread in threads:
        late = None
        if thread.alerted_at is not None:
            late = max((thread.alerted_at - thread.turned_at).total_seconds(), 0.0) / poll
        found.append((f"{thread.kind}: {thread.text[:12]}", late))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.demo")
    parser.add_argument("--runs", type=int, default=3, help="demo runs (default: 3)")
    args = parser.parse_args(argv)
    print(f"pingfan demo, {args.runs} run(s): wall time, memory, alert latency in comment polls")
    runs = []
    with tempfile.TemporaryDirectory(prefix="pingfan-bench-demo-") as scratch:
        for index in range(args.runs):
            run = run_once(Path(scratch) / f"run{index + 1}")
            runs.append(run)
            largest = max(run.children_mb.items(), key=lambda item: item[1], default=("-", 0.0))
            late = ", ".join(
                f"{name} {'no alert' if polls is None else f'{polls:.1f}'}"
                for name, polls in run.latencies
            )
            print(
                f"run {index + 1}: exit {run.exit_code}, {run.seconds:.0f} s; daemon (VmHWM) "
                f"{run.daemon_mb:.0f} MB, largest child {largest[0]} {largest[1]:.0f} MB; "
                f"late by: {late}"
            )
    latencies = [polls for run in runs for _, polls in run.latencies]
    missed = sum(polls is None for polls in latencies)
    measured = [polls for polls in latencies if polls is not None]
    worst_mb = max(run.daemon_mb for run in runs)
    print("| measure | figure | goal |")
    print("| --- | --- | --- |")
    print(
        f"| demo wall time (no set-up) | median {statistics.median(r.seconds for r in runs):.0f} s,"
        f" max {max(r.seconds for r in runs):.0f} s | make demo ≤ 180 s with set-up |"
    )
    print(f"| daemon peak RSS (VmHWM) | max {worst_mb:.0f} MB | ≤ {DAEMON_GOAL_MB:.0f} MB |")
    if measured:
        print(
            f"| scripted threads alerted late by | median {statistics.median(measured):.2f},"
            f" max {max(measured):.2f} polls; {missed} without an alert |"
            f" ≤ {LATENCY_GOAL_POLLS:.0f} polls |"
        )
    else:
        print(f"| scripted threads alerted | none of {len(latencies)} | all |")


if __name__ == "__main__":
    main()
