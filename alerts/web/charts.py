"""Small server-rendered SVG charts: pure functions of (label, value) pairs, no script, no font.

Every text that goes into the SVG is escaped here; the result is safe to put in a page as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 160
_PAD_LEFT, _PAD_BOTTOM, _PAD_TOP = 56, 20, 8


def _short(value: float) -> str:
    if value >= 10_000:
        return f"{value / 10_000:.1f}万".replace(".0万", "万")
    return f"{value:.0f}"


def _frame(inner: str, top: float, label: str) -> Markup:
    plot_h = HEIGHT - _PAD_BOTTOM - _PAD_TOP
    axis = (
        f'<line x1="{_PAD_LEFT}" y1="{_PAD_TOP + plot_h}" x2="{WIDTH}" y2="{_PAD_TOP + plot_h}"'
        ' class="axis"/>'
        f'<text x="{_PAD_LEFT - 6}" y="{_PAD_TOP + 10}" text-anchor="end" class="tick">'
        f"{escape(_short(top))}</text>"
        f'<text x="{_PAD_LEFT - 6}" y="{_PAD_TOP + plot_h}" text-anchor="end" class="tick">0</text>'
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{axis}{inner}</svg>'
    )


def _day_ticks(labels: Sequence[str], x_of: list[float]) -> str:
    if not labels:
        return ""
    last = len(labels) - 1
    picks = sorted({0, last // 2, last})
    anchors = {0: "start", last: "end"}
    return "".join(
        f'<text x="{x_of[i]:.1f}" y="{HEIGHT - 4}" text-anchor="{anchors.get(i, "middle")}"'
        f' class="tick">{escape(labels[i][5:])}</text>'
        for i in picks
    )


def bar_chart(points: Sequence[tuple[str, float]], label: str) -> Markup:
    """One bar per (day, value)."""
    top = max((value for _, value in points), default=0.0) or 1.0
    plot_w = WIDTH - _PAD_LEFT
    plot_h = HEIGHT - _PAD_BOTTOM - _PAD_TOP
    step = plot_w / max(len(points), 1)
    bars, centres = [], []
    for i, (day, value) in enumerate(points):
        h = plot_h * value / top
        x = _PAD_LEFT + i * step
        centres.append(x + step / 2)
        bars.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{_PAD_TOP + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(day)}: {value:.0f}</title></rect>"
        )
    return _frame("".join(bars) + _day_ticks([d for d, _ in points], centres), top, label)


def line_chart(points: Sequence[tuple[str, float]], label: str) -> Markup:
    """A line through (label, value) points, left to right."""
    top = max((value for _, value in points), default=0.0) or 1.0
    plot_w = WIDTH - _PAD_LEFT - 8
    plot_h = HEIGHT - _PAD_BOTTOM - _PAD_TOP
    step = plot_w / max(len(points) - 1, 1)
    xy = [
        (_PAD_LEFT + i * step, _PAD_TOP + plot_h - plot_h * value / top)
        for i, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="dot">'
        f"<title>{escape(name)}: {value:.0f}</title></circle>"
        for (x, y), (name, value) in zip(xy, points, strict=True)
    )
    inner = f'<polyline points="{path}" class="line"/>{dots}'
    return _frame(inner + _day_ticks([n for n, _ in points], [x for x, _ in xy]), top, label)
