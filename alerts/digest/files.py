"""Writing a digest to its directory, and the outbox alert that announces it.

Files (for week 2019-W28): `digest-2019-W28.md`, `digest-2019-W28.html` (self-contained) and
the Markdown's charts `digest-2019-W28-reach.svg`, `-sentiment.svg`, `-kols.svg`. Each is
written through a temporary file, so a reader never sees half of one; a digest made again
replaces them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alerts import safe_text
from alerts.digest import i18n
from alerts.digest.documents import chart_file, render_html, render_markdown, write_text
from alerts.digest.model import Chart, Digest
from alerts.digest.weeks import IsoWeek
from alerts.i18n.digest_summary import summary_lines
from monitor.apart import LingeringWorker, call_by_name
from monitor.models import AlertRecord
from monitor.store import Store
from monitor.store.weekly import DIGEST_KIND

TEXT_LIMIT_BYTES = 1800  # the plain summary fits any sink's text message (WeCom: 2,048)


@dataclass(frozen=True)
class Written:
    markdown: Path
    html: Path
    charts: tuple[Path, ...]


def dedupe_key(week: IsoWeek) -> str:
    """One digest per ISO week, ever: `digest:2019-W28`."""
    return f"{DIGEST_KIND}:{week}"


def stem(week: IsoWeek) -> str:
    return f"digest-{week}"


def write_digest(
    digest: Digest, out_dir: Path, *, font: Path | None = None, charts_apart: bool = False
) -> Written:
    """Charts, Markdown and HTML into `out_dir` (created if needed).

    `charts_apart`: draw the charts in a short-lived process of their own. Long-running
    processes (the daemon, the demo) use it: matplotlib and numpy are about 45 MB that would
    otherwise stay in them for ever after their first digest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = stem(digest.week)
    font_path = str(font) if font else None
    charts, cjk_font = _draw_apart(digest, font_path) if charts_apart else _draw(digest, font_path)
    font_note = bool(charts) and digest.language == "zh" and not cjk_font
    chart_paths = []
    for chart in charts:
        path = out_dir / chart_file(name, chart.name)
        write_text(path, chart.svg)
        chart_paths.append(path)
    markdown = out_dir / f"{name}.md"
    write_text(
        markdown,
        render_markdown(
            digest,
            {chart.name: chart_file(name, chart.name) for chart in charts},
            font_note=font_note,
        ),
    )
    html = out_dir / f"{name}.html"
    write_text(html, render_html(digest, charts, font_note=font_note))
    return Written(markdown, html, tuple(chart_paths))


def _draw(digest: Digest, font_path: str | None) -> tuple[list[Chart], bool]:
    from alerts.digest.charts import draw

    return draw(digest, font_path)


# Charts drawn apart: one process, kept for a minute after each digest (see LingeringWorker).
_CHART_PROCESS = LingeringWorker(linger=60.0)


def _draw_apart(digest: Digest, font_path: str | None) -> tuple[list[Chart], bool]:
    # By name: the child imports the charts module (and matplotlib), not this one's store.
    drawn: tuple[list[Chart], bool] = _CHART_PROCESS.run(
        call_by_name, "alerts.digest.charts:draw", digest, font_path
    )
    return drawn


def digest_alert(digest: Digest, written: Written, *, at: datetime) -> tuple[AlertRecord, dict]:
    """The outbox alert for the digest: a plain summary as its text, the facts and the files
    as its evidence (chat.py builds each sink's richer form from them)."""
    facts = digest.facts()
    lines = summary_lines(facts, digest.language)
    lines.append(i18n.t(digest.language, "sum.files", name=written.html.name))
    text = safe_text.fit_lines(lines, TEXT_LIMIT_BYTES, safe_text.utf8_len, keep_last=1)
    title = i18n.t(digest.language, "title", campaign=digest.campaign, week=str(digest.week))
    evidence: dict[str, Any] = {
        "week": str(digest.week),
        "facts": facts,
        "files": {"markdown": str(written.markdown), "html": str(written.html)},
    }
    alert = AlertRecord(
        kind=DIGEST_KIND,
        severity="info",
        title=title,
        text=text,
        dedupe_key=dedupe_key(digest.week),
        created_at=at,
        platform=None,
        subject_id=str(digest.week),
    )
    json.dumps(evidence)  # evidence must be JSON: fail here, not in the store
    return alert, evidence


def enqueue_digest(store: Store, digest: Digest, written: Written, *, at: datetime) -> bool:
    """Put the digest in the outbox; False when this week's digest is already there."""
    alert, evidence = digest_alert(digest, written, at=at)
    return store.outbox.enqueue_alert(alert, evidence=evidence, rule=DIGEST_KIND)
