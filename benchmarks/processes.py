"""A process's memory and children, read from /proc (Linux), and busy neighbours, for the
benchmarks (and the test that a busy machine replays the same demo)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS), or the most it ever was (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def name(pid: int) -> str:
    """The process's name (what `multiprocessing` or `setproctitle` set), else its pid."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return str(pid)


def _busy_loop() -> None:
    while True:
        pass


@contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """`count` processes that each keep a core busy until the block ends."""
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_busy_loop, daemon=True) for _ in range(count)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.join()
