"""The manager's chart of recent weeks, as plain numbers a template draws into SVG.

Bars: tickets opened and resolved each week, clients and colleagues stacked. Lines: the
share of first answers and of resolutions in time. No script, no library: the browser
only draws rectangles and polylines the server placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.desk.trends import Week

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 40
BAR = 14


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    kind: str           # opened-clients | opened-colleagues | resolved-clients | resolved-colleagues
    value: int


@dataclass(frozen=True)
class Line:
    kind: str           # answered | resolved
    points: str         # "x,y x,y ..." for <polyline>
    dots: tuple[tuple[float, float, int], ...]   # x, y, percent


@dataclass(frozen=True)
class Chart:
    weeks: list[Week]
    bars: list[Bar]
    lines: list[Line]
    labels: list[tuple[float, str]]
    ticks: list[tuple[float, int]]          # y, count
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


def build(weeks: list[Week], lang: str) -> Chart:
    """Geometry for `weeks` (oldest first); the tallest bar fills the plot."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    tallest = max([1] + [max(w.both("opened"), w.both("resolved")) for w in weeks])
    step = plot_w / max(1, len(weeks))
    base = TOP + plot_h
    bars, labels, answered, resolved = [], [], [], []
    for n, week in enumerate(weeks):
        middle = LEFT + step * (n + 0.5)
        for offset, what in ((-BAR - 1, "opened"), (1, "resolved")):
            y = base
            for side in ("clients", "colleagues"):
                value = getattr(getattr(week, side), what)
                height = plot_h * value / tallest
                y -= height
                if value:
                    bars.append(Bar(middle + offset, y, height, f"{what}-{side}", value))
        labels.append((middle, _day(week.start, lang)))
        for share, points in ((week.share("answered_in_time", "answered"), answered),
                              (week.share("resolved_in_time", "resolved"), resolved)):
            if share is not None:
                points.append((middle, TOP + plot_h * (1 - share), round(share * 100)))
    lines = [Line(kind, " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points), tuple(points))
             for kind, points in (("answered", answered), ("resolved", resolved)) if points]
    ticks = [(base - plot_h * value / tallest, value) for value in _ticks(tallest)]
    return Chart(weeks, bars, lines, labels, ticks)


def _ticks(tallest: int) -> list[int]:
    step = max(1, round(tallest / 4))
    return list(range(0, tallest + 1, step))


def _day(day, lang: str) -> str:
    if lang == "ru":
        return day.strftime("%d.%m")
    return f"{day.day} {day.strftime('%b')}"
