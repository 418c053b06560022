"""The digest as Markdown and as one self-contained HTML page, from Jinja2 templates
(alerts/digest/templates/).

Escaping is on by default in both, so a template cannot forget it:
- HTML: Jinja2's autoescape; the page carries a Content-Security-Policy that allows no script
  and no outside request (images are `data:` URIs, the style is inline);
- Markdown: every `{{ … }}` passes through `md_escape` (the environment's `finalize`), which
  backslash-escapes Markdown and HTML syntax and puts the value on one line; only values the
  code marks safe (`Markup`: chart file names, links it built and checked) go out as they are.
User text (comments, posts) is also made inert for any reader first (`safe_text.quote`: links
and @mentions broken, control characters dropped, shortened), and authors are masked.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from alerts import safe_text
from alerts.digest import i18n
from alerts.digest.model import Chart, Digest
from alerts.digest.weeks import IsoWeek
from alerts.i18n.digest_summary import summary_lines

# Inline syntax anywhere in a line; user text never starts a line here (every template line
# starts with our own text), so block syntax (#, +, -, 1.) needs no escape.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_escape(value: Any) -> Any:
    """A value as Markdown text: one line, Markdown and HTML syntax backslash-escaped.
    `Markup` (what the code built itself) passes unchanged."""
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return ""
    text = safe_text.clean_line(str(value))
    return _MD_SPECIAL.sub(r"\\\1", text).replace("&", "&amp;")


class Formats:
    """Number, time and name formats in the digest's language and zone, for the templates."""

    def __init__(self, digest: Digest) -> None:
        self.language = digest.language
        self.tz = ZoneInfo(digest.timezone)

    def t(self, key: str, **values: object) -> str:
        return i18n.t(self.language, key, **values)

    def num(self, value: int | float | None) -> str:
        return i18n.count(value)

    def big(self, value: int | float | None) -> str:
        return i18n.compact(self.language, value)

    def pct(self, value: float | None) -> str:
        return i18n.pct(value)

    def change(self, current: float | None, previous: float | None) -> str:
        return i18n.change(self.language, current, previous)

    def points(self, current: float | None, previous: float | None) -> str:
        return i18n.points(current, previous)

    def time(self, moment: datetime | None) -> str:
        return i18n.moment(moment, self.tz) if moment else "–"

    def day(self, value: date | None) -> str:
        return i18n.day(self.language, value) if value else "–"

    def date(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d")

    def duration(self, seconds: float) -> str:
        return i18n.hours_minutes(self.language, seconds)

    def platform(self, platform: str | None) -> str:
        if platform is None:
            return i18n.t(self.language, "volume.total")
        return i18n.platform_name(self.language, platform)

    def metric(self, platform: str) -> str:
        return i18n.metric_name(self.language, platform)

    def kind(self, kind: str) -> str:
        return i18n.kind_name(self.language, kind)

    def state(self, state: str) -> str:
        return i18n.state_name(self.language, state)

    def severity(self, severity: str) -> str:
        return i18n.severity_name(self.language, severity)

    def link(self, url: str) -> Markup:
        """A link the code checked (`safe_text.safe_url`) for a Markdown `(…)`: parentheses
        encoded so the link cannot end early."""
        return Markup(url.replace("(", "%28").replace(")", "%29"))

    def quote(self, text: str, limit: int = 80) -> str:
        """User text made inert: one line, links and @mentions broken, at most `limit`."""
        return safe_text.quote(text, limit)

    def terms(self, terms: Any) -> str:
        words = [getattr(term, "word", term) for term in terms]
        return i18n.join_terms(self.language, words) if words else self.t("none")

    def outcome(self, thread: Any) -> str:
        if thread.outcome == "calmed":
            return self.t("thread.calmed", time=self.time(thread.last_comment_at))
        if thread.final_scored == 0:
            return self.t("thread.quiet", time=self.time(thread.last_comment_at))
        return self.t(
            f"thread.{thread.outcome}",
            share=self.pct(thread.final_share),
            n=thread.final_scored,
        )

    def ack(self, acked_by: str | None, acked_at: datetime | None, recorded: bool) -> str:
        if not recorded:
            return self.t("alert.ack_unknown")
        if acked_at is None:
            return self.t("alert.not_acked")
        return self.t("alert.acked", who=acked_by or "?", time=self.time(acked_at))

    def title(self, digest: Digest) -> str:
        return self.t("title", campaign=digest.campaign, week=str(digest.week))

    def period(self, digest: Digest) -> str:
        days = digest.week.days()
        return self.t(
            "period", first=days[0].isoformat(), last=days[-1].isoformat(), tz=digest.timezone
        )


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("alerts.digest", "templates"),
        autoescape=autoescape,
        finalize=None if autoescape else md_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


_HTML = _environment(autoescape=True)
_MARKDOWN = _environment(autoescape=False)


def _context(digest: Digest) -> dict[str, Any]:
    formats = Formats(digest)
    kinds = Counter(alert.kind for alert in digest.alerts)
    by_kind = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    return {
        "d": digest,
        "f": formats,
        "summary": summary_lines(digest.facts(), digest.language),
        "kinds": [f"{formats.kind(kind)} {n}" for kind, n in by_kind],
        "hint": str(hint) if (hint := _hint_week(digest)) else "",
        "volume_rows": [
            ("volume.posts", "posts"),
            ("volume.ugc_posts", "ugc_posts"),
            ("volume.kol_posts", "kol_posts"),
            ("volume.official_posts", "official_posts"),
            ("volume.authors", "authors"),
            ("volume.comments", "comments"),
            ("volume.commenters", "commenters"),
            ("volume.likes", "likes"),
            ("volume.post_comments", "post_comments"),
            ("volume.shares", "shares"),
            ("volume.engagement", "engagement"),
            ("volume.plays", "plays"),
        ],
    }


def _hint_week(digest: Digest) -> IsoWeek | None:
    """A week to suggest when this one has no data: the last complete week the store holds
    data in, never this same (empty) week; None when no other week would show anything."""
    if digest.data_span is None:
        return None  # nothing is stored: another week would be just as empty
    zone = ZoneInfo(digest.timezone)
    last_complete = IsoWeek.containing(digest.generated_at, zone).previous()
    first, last = (IsoWeek.containing(moment, zone) for moment in digest.data_span)
    for week in (min(last, last_complete), first):
        if week != digest.week and week <= last_complete:
            return week
    return None


def render_markdown(
    digest: Digest, charts: dict[str, str] | None = None, *, font_note: bool = False
) -> str:
    """The digest as Markdown; `charts` maps a chart's name to its file (next to the .md)."""
    files = {name: Markup(path) for name, path in (charts or {}).items()}
    return _MARKDOWN.get_template("digest.md.j2").render(
        **_context(digest), charts=files, font_note=font_note
    )


def render_html(digest: Digest, charts: list[Chart], *, font_note: bool = False) -> str:
    """The digest as one HTML page: inline CSS, each chart an SVG `data:` image."""
    images = [
        {
            "name": chart.name,
            "title": chart.title,
            "src": "data:image/svg+xml;base64,"
            + base64.b64encode(chart.svg.encode("utf-8")).decode("ascii"),
        }
        for chart in charts
    ]
    return _HTML.get_template("digest.html.j2").render(
        **_context(digest), charts={image["name"]: image for image in images}, font_note=font_note
    )


def chart_file(stem: str, name: str) -> str:
    return f"{stem}-{name}.svg"


def write_text(path: Path, text: str) -> None:
    """Write through a temporary file next to `path`: a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
