"""The digest's charts as SVG, drawn by matplotlib with a CJK font, text turned into paths.

Text as paths (`svg.fonttype = "path"`) makes every chart self-contained: it shows the same
glyphs in any browser or viewer, with or without Chinese fonts there. The font is found once:
`[digest] font` when set, else the first installed font (Debian: fonts-noto-cjk) whose
character map covers the digest's Chinese; matplotlib's font cache may predate the font's
installation, so the system font directories are looked at too. Without such a font the
charts are labelled in English and names they cannot show become "#1", "#2"…, so nothing is
drawn as tofu boxes.

Matplotlib's settings are global, so charts are drawn one at a time (a lock), with the
object-oriented API (no pyplot, no GUI backend).
"""

from __future__ import annotations

import io
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
from matplotlib import dates, font_manager, ticker
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font

from alerts.digest import i18n
from alerts.digest.model import Chart, Digest

log = logging.getLogger(__name__)

# Checked against each candidate's character map: the digest's own words and common names.
CJK_SAMPLE = "平凡大连人微博抖音阅读播放正面中性负面评论粉丝互动周一二三四五六日月万亿"
# Families to prefer, best first (simplified Chinese first); any other covering font follows.
PREFERRED = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "Noto Serif CJK SC",
)
COLORS = {
    "positive": "#2e9d5b",
    "neutral": "#a7adb5",
    "negative": "#d64545",
    "weibo": "#e6162d",
    "douyin": "#111111",
    "bar": "#3b6fb6",
    "mark": "#c98b1a",
}
_LOCK = threading.Lock()
_UNSAFE = re.compile(r"[<>&\x00-\x1f\x7f]|--")


@dataclass(frozen=True)
class ChartFont:
    family: str
    path: str
    index: int


def _covers(path: str, index: int, text: str) -> bool:
    try:
        charmap = FT2Font(path, face_index=index).get_charmap()
    except (OSError, RuntimeError, ValueError, TypeError):
        return False
    return all(ord(ch) in charmap for ch in set(text) if not ch.isspace())


@cache
def find_cjk_font(explicit: str | None = None) -> ChartFont | None:
    """The font the charts use for Chinese, or None when none is installed."""
    manager = font_manager.fontManager
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            log.warning("[digest] font %s does not exist; looking for an installed one", path)
        else:
            before = {id(entry) for entry in manager.ttflist}
            try:
                manager.addfont(str(path))
            except (OSError, RuntimeError, ValueError) as err:
                log.warning("[digest] font %s cannot be read (%s)", path, err)
            added = [e for e in manager.ttflist if id(e) not in before] or [
                e for e in manager.ttflist if Path(e.fname) == path
            ]
            for entry in added:
                if _covers(entry.fname, entry.index, CJK_SAMPLE):
                    return ChartFont(entry.name, entry.fname, entry.index)
            log.warning("[digest] font %s lacks Chinese glyphs; looking for another", path)
    known = {Path(entry.fname) for entry in manager.ttflist}
    for found in font_manager.findSystemFonts():
        if Path(found) not in known and _looks_cjk(found):
            try:
                manager.addfont(found)  # installed after matplotlib built its cache
            except (OSError, RuntimeError, ValueError):
                continue
    candidates = sorted(
        (e for e in manager.ttflist if e.style == "normal" and e.weight in (400, "normal")),
        key=lambda e: (_rank(e.name), e.name, e.fname, e.index),
    )
    for entry in candidates:
        named = _rank(entry.name) < len(PREFERRED) or _looks_cjk(entry.fname + entry.name)
        if named and _covers(entry.fname, entry.index, CJK_SAMPLE):
            return ChartFont(entry.name, entry.fname, entry.index)
    return None


def _rank(name: str) -> int:
    return PREFERRED.index(name) if name in PREFERRED else len(PREFERRED)


def _looks_cjk(name: str) -> bool:
    lowered = name.lower()
    return any(
        part in lowered
        for part in ("cjk", "han sans", "hansans", "wqy", "wenquanyi", "droidsansfallback",
                     "droid sans fallback", "uming", "ukai", "sc-", "noto sans sc")
    )  # fmt: skip


def chart_text(text: str) -> str:
    """A label as matplotlib may draw it: no markup-like characters, no mathtext `$`."""
    return _UNSAFE.sub(" ", text).replace("$", "＄").strip()


class _Labeller:
    """Labels in the digest's language when the font can draw them, else in English."""

    def __init__(self, language: str, font: ChartFont | None) -> None:
        self.font = font
        self.language = language if font is not None else "en"

    def t(self, key: str, **values: object) -> str:
        return chart_text(i18n.t(self.language, key, **values))

    def name(self, text: str, fallback: str) -> str:
        """A user or partner name, if the font has all its glyphs."""
        clean = chart_text(text)
        if all(ord(ch) < 0x2E80 for ch in clean):  # Latin, digits: every font has them
            return clean
        if self.font is not None and _covers(self.font.path, self.font.index, clean):
            return clean
        return fallback


def render_charts(digest: Digest, font_path: str | None = None) -> list[Chart]:
    """The reach, sentiment and KOL charts that have something to show."""
    font = find_cjk_font(font_path)
    if font is None and i18n.lang(digest.language) == "zh":
        log.warning(
            "no CJK font for the digest's charts: labelled in English; install fonts-noto-cjk"
        )
    labels = _Labeller(digest.language, font)
    tz = ZoneInfo(digest.timezone)
    charts = []
    style: Any = _style(font)
    with _LOCK, matplotlib.rc_context(style):
        if any(len(r.series) >= 1 for r in digest.reach):
            charts.append(_reach_chart(digest, labels, tz))
        if digest.sentiment.current.scored or digest.sentiment.current.unscored:
            charts.append(_sentiment_chart(digest, labels))
        if any(k.engagement or k.uploads for k in digest.kols):
            charts.append(_kol_chart(digest, labels))
    return charts


def uses_cjk_font(font_path: str | None = None) -> bool:
    return find_cjk_font(font_path) is not None


def draw(digest: Digest, font_path: str | None = None) -> tuple[list[Chart], bool]:
    """The charts, and whether a CJK font drew them: what `files.write_digest` needs, in one
    call that can run in another process."""
    return (render_charts(digest, font_path) if digest.has_data else []), uses_cjk_font(font_path)


def _style(font: ChartFont | None) -> dict[str, object]:
    families = [font.family, "DejaVu Sans"] if font else ["DejaVu Sans"]
    return {
        "font.family": families,
        "font.size": 10,
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "pingfan-digest",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
    }


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    # matplotlib repeats each label as an XML comment; labels are cleaned, comments dropped.
    return re.sub(r"<!--.*?-->", "", buffer.getvalue(), flags=re.S)


def _reach_chart(digest: Digest, labels: _Labeller, tz: ZoneInfo) -> Chart:
    figure = Figure(figsize=(7.2, 3.4), dpi=100)
    axes = figure.add_subplot()
    title = labels.t("reach.chart")
    axes.set_title(title, loc="left")
    top = 0
    for reach in digest.reach:
        if not reach.series:
            continue
        times = dates.date2num([_naive(p.at, tz) for p in reach.series])
        values = [p.views for p in reach.series]
        top = max(top, *values)
        platform = i18n.metric_name(labels.language, reach.platform)
        name = labels.name(f"#{reach.topic}", f"#{len(axes.lines) + 1}")
        axes.plot(
            times,
            values,
            marker="o",
            linewidth=2,
            color=COLORS.get(reach.platform, COLORS["bar"]),
            label=chart_text(f"{_platform(labels.language, reach.platform)} {name} {platform}"),
        )
    for mark in digest.marks:
        if top and mark <= top * 1.25:
            axes.axhline(mark, color=COLORS["mark"], linestyle="--", linewidth=1)
            axes.annotate(
                chart_text(i18n.compact(labels.language, mark)),
                xy=(1, mark),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                color=COLORS["mark"],
                fontsize=8,
            )
    axes.set_xlim(
        float(dates.date2num(_naive(digest.start, tz))),
        float(dates.date2num(_naive(digest.end, tz))),
    )
    axes.yaxis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _: i18n.compact(labels.language, v))
    )
    axes.xaxis.set_major_formatter(dates.DateFormatter("%m-%d"))
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", frameon=False, fontsize=9)
    return Chart("reach", title, _svg(figure))


def _sentiment_chart(digest: Digest, labels: _Labeller) -> Chart:
    figure = Figure(figsize=(7.2, 3.4), dpi=100)
    axes = figure.add_subplot()
    title = labels.t("sent.chart")
    axes.set_title(title, loc="left")
    days = digest.sentiment.days
    names = [chart_text(i18n.short_day(labels.language, d.day)) for d in days]
    bottom = [0] * len(days)
    for label in ("positive", "neutral", "negative"):
        values = [getattr(d.split, label) for d in days]
        axes.bar(
            names,
            values,
            bottom=bottom,
            color=COLORS[label],
            label=labels.t(f"sent.{label}"),
            width=0.65,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    share_axes = axes.twinx()
    shares = [d.split.share("negative") for d in days]
    share_axes.plot(
        [n for n, s in zip(names, shares, strict=True) if s is not None],
        [s * 100 for s in shares if s is not None],
        color=COLORS["negative"],
        marker="o",
        linewidth=1.5,
        label=labels.t("sent.share_negative"),
    )
    share_axes.set_ylim(0, 100)
    share_axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0f}%"))
    share_axes.spines["top"].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    handles, texts = axes.get_legend_handles_labels()
    more_handles, more_texts = share_axes.get_legend_handles_labels()
    axes.legend(
        handles + more_handles,
        texts + more_texts,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=4,
        frameon=False,
        fontsize=9,
    )
    return Chart("sentiment", title, _svg(figure))


def _kol_chart(digest: Digest, labels: _Labeller) -> Chart:
    rows = list(digest.kols)
    figure = Figure(figsize=(7.2, 0.5 * len(rows) + 1.2), dpi=100)
    axes = figure.add_subplot()
    title = labels.t("kol.chart")
    axes.set_title(title, loc="left")
    names = [
        f"{labels.name(row.name, f'#{index}')} · {_platform(labels.language, row.platform)}"
        for index, row in enumerate(rows, 1)
    ]
    values = [row.engagement for row in rows]
    positions = list(range(len(rows)))[::-1]
    axes.barh(positions, values, color=COLORS["bar"], height=0.6)
    axes.set_yticks(positions, [chart_text(n) for n in names])
    for position, row in zip(positions, rows, strict=True):
        note = f"{i18n.compact(labels.language, row.engagement)}  ({row.uploads})"
        axes.annotate(
            chart_text(note),
            xy=(row.engagement, position),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, max([*values, 1]) * 1.25)
    axes.xaxis.set_major_formatter(
        ticker.FuncFormatter(lambda v, _: i18n.compact(labels.language, v))
    )
    axes.grid(axis="x", alpha=0.3)
    return Chart("kols", title, _svg(figure))


def _platform(language: str, platform: str) -> str:
    return i18n.platform_name(language, platform)


def _naive(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)
