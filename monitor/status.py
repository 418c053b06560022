"""`pingfan status`: what the database holds, per table, per platform circuit and per source,
with times in the configured time zone. Posts, comments, topics, alerts and labels are the
config's campaign's (the store serves it); circuits and sources are shared by every campaign."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.config import Config
from monitor.store import Store


def no_database_yet(path: Path) -> str:
    """What `pingfan status` says before the first collection (it never creates the file)."""
    return f"no database yet at {path}; run `pingfan collect --once` or `pingfan run`"


def render_status(store: Store, config: Config) -> str:
    counts = store.reports.table_counts()  # posts, comments, alerts, labels: the campaign's
    campaign = config.campaign
    named = f" ({campaign.name})" if campaign.name != campaign.id else ""
    lines = [f"database: {config.storage.where}", f"campaign: {campaign.id}{named}"]
    lines += [f"  {table:<16} {count:>10,}" for table, count in counts.items()]
    topics = store.reports.latest_topic_readings()
    if topics:
        lines.append("topics (latest reading):")
        for row in topics:
            lines.append(
                f"  {row['platform']:<7} #{row['topic']}  views={_n(row['views'])}"
                f"  discussions={_n(row['discussions'])}  at {row['observed_at']}"
            )
    watched = store.watch.watched_posts()
    if watched:
        lines.append("watched by link (本次活动视频):")
        for item in watched:
            read = item.counts
            shown = (
                f"likes={_n(read.likes)}  comments={_n(read.comments)}"
                f"  shares={_n(read.shares)}  plays={_n(read.plays)}"
                if item.collected
                else "not collected yet"
            )
            note = f"  {item.note}" if item.note else ""
            lines.append(f"  {item.platform:<7} {item.id or item.url}  {shown}{note}")
    states = store.reports.alert_states()
    if states:
        lines.append("alerts: " + ", ".join(f"{state}={n}" for state, n in states.items()))
    zone = ZoneInfo(config.ui.timezone)
    for circuit in store.runtime.circuits():
        if circuit.state != "closed":
            until = _at(circuit.open_until, zone)
            lines.append(f"{circuit.platform}: {circuit.state} until {until} ({circuit.reason})")
    sources = store.runtime.sources()
    if sources:
        lines.append(f"sources (times in {config.ui.timezone}):")
        width = max(_columns(source.name) for source in sources)
        head = _pad("name", width)
        lines.append(f"  {head} {'last':<8} {'last success':<16} {'next due':<16} error")
        for source in sources:
            lines.append(
                f"  {_pad(source.name, width)} {source.last_status or '-':<8}"
                f" {_at(source.last_success_at, zone):<16} {_at(source.due_at, zone):<16}"
                f" {_short(source.last_error) if source.last_status != 'ok' else ''}"
            )
    return "\n".join(lines)


def _columns(text: str) -> int:
    """Terminal columns: a CJK character takes two, so "平凡大连人" is ten wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _columns(text), 0)


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %H:%M:%S") if moment else "never"


def _short(text: str | None, limit: int = 80) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"
