"""`pingfan status`: what the database holds, per table and per source."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config
from monitor.store import Store


def no_database_yet(path: Path) -> str:
    """What `pingfan status` says before the first collection (it never creates the file)."""
    return f"no database yet at {path}; run `pingfan collect --once` or `pingfan run`"


def render_status(store: Store, config: Config) -> str:
    counts = store.table_counts()
    lines = [f"database: {config.storage.path}"]
    lines += [f"  {table:<16} {count:>10,}" for table, count in counts.items()]
    topics = store.latest_topic_readings()
    if topics:
        lines.append("topics (latest reading):")
        for row in topics:
            lines.append(
                f"  {row['platform']:<7} #{row['topic']}  views={_n(row['views'])}"
                f"  discussions={_n(row['discussions'])}  at {row['observed_at']}"
            )
    states = store.alert_states()
    if states:
        lines.append("alerts: " + ", ".join(f"{state}={n}" for state, n in states.items()))
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"
