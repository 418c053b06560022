"""`pingfan status`: what the database holds, per table and per source."""

from __future__ import annotations

from monitor.config import Config
from monitor.store import Store


def render_status(store: Store, config: Config) -> str:
    counts = store.table_counts()
    lines = [f"database: {config.storage.path}"]
    lines += [f"  {table:<16} {count:>10,}" for table, count in counts.items()]
    topics = list(
        store.query(
            "SELECT platform, topic, views, discussions, max(observed_at) AS observed_at"
            " FROM topic_metrics GROUP BY platform, topic ORDER BY platform, topic"
        )
    )
    if topics:
        lines.append("topics (latest reading):")
        for row in topics:
            lines.append(
                f"  {row['platform']:<7} #{row['topic']}  views={_n(row['views'])}"
                f"  discussions={_n(row['discussions'])}  at {row['observed_at']}"
            )
    states = list(store.query("SELECT state, count(*) AS n FROM alerts GROUP BY state"))
    if states:
        lines.append("alerts: " + ", ".join(f"{r['state']}={r['n']}" for r in states))
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"
