"""Geometry of the server-rendered SVG charts of the analytics pages (no JavaScript).

The templates in templates/analytics/_charts.html draw these; each chart also renders its data
as a table for screen readers and for anyone who prefers numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
BAR_WIDTH = 480  # bar charts sit in half-width panels: a smaller canvas keeps text legible
LABEL_WIDTH = 140
VALUE_WIDTH = 56
BAR_HEIGHT = 24
BAR_GAP = 12
PLOT_HEIGHT = 180
MARGIN_LEFT = 44
MARGIN_BOTTOM = 28
MARGIN_TOP = 12


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    detail: str
    y: float
    width: float
    has_value: bool


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars from 0 to `max_value`, one row per item."""

    width: int
    height: int
    plot_x: int
    plot_width: int
    bars: list[Bar]
    ticks: list[Tick]
    bar_height: int = BAR_HEIGHT


def percent_text(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def bar_chart(
    rows: Sequence[tuple[str, float | None, str]], max_value: float = 1.0, percent: bool = True
) -> BarChart:
    """`rows` are (label, value or None, detail for the table); values as shares of 1 when
    `percent`."""
    plot_x = LABEL_WIDTH
    plot_width = BAR_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value, detail) in enumerate(rows):
        share = 0.0 if value is None or max_value <= 0 else min(1.0, max(0.0, value / max_value))
        bars.append(
            Bar(
                label=label,
                value_text=percent_text(value) if percent else _number(value),
                detail=detail,
                y=MARGIN_TOP + index * (BAR_HEIGHT + BAR_GAP),
                width=round(share * plot_width, 1),
                has_value=value is not None,
            )
        )
    height = MARGIN_TOP + max(1, len(rows)) * (BAR_HEIGHT + BAR_GAP) + MARGIN_BOTTOM
    ticks = [
        Tick(
            position=plot_x + plot_width * step / 4,
            label=f"{step * 25}%" if percent else _number(max_value * step / 4),
        )
        for step in range(5)
    ]
    return BarChart(
        width=BAR_WIDTH, height=height, plot_x=plot_x, plot_width=plot_width, bars=bars, ticks=ticks
    )


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value_text: str


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str


@dataclass(frozen=True)
class TimeChart:
    """A line (accuracy, with gaps where there is no value) over columns (answered)."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    columns: list[Column]
    segments: list[str]  # SVG path data, one per unbroken run of values
    points: list[Point]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    column_max: int
    rows: list[tuple[str, str, str]] = field(default_factory=list)


def time_chart(
    labels: Sequence[str],
    line_values: Sequence[float | None],
    column_values: Sequence[int],
    row_details: Sequence[tuple[str, str, str]] = (),
) -> TimeChart:
    """Accuracy (0-1) as a line over answered counts as columns, one slot per period."""
    count = max(1, len(labels))
    left, right = MARGIN_LEFT, WIDTH - 12
    top, bottom = MARGIN_TOP, MARGIN_TOP + PLOT_HEIGHT
    slot = (right - left) / count
    column_max = max([1, *column_values])

    def x_of(index: int) -> float:
        return round(left + slot * (index + 0.5), 1)

    def y_of(share: float) -> float:
        return round(bottom - share * PLOT_HEIGHT, 1)

    columns = [
        Column(
            x=round(left + slot * index + slot * 0.15, 1),
            y=y_of(value / column_max),
            width=round(slot * 0.7, 1),
            height=round(value / column_max * PLOT_HEIGHT, 1),
            label=labels[index],
            value_text=str(value),
        )
        for index, value in enumerate(column_values)
        if value > 0
    ]
    points: list[Point] = []
    segments: list[str] = []
    run: list[str] = []
    for index, value in enumerate(line_values):
        if value is None:
            if run:
                segments.append(" ".join(run))
                run = []
            continue
        x, y = x_of(index), y_of(max(0.0, min(1.0, value)))
        run.append(f"{'M' if not run else 'L'}{x},{y}")
        points.append(Point(x=x, y=y, label=labels[index], value_text=percent_text(value)))
    if run:
        segments.append(" ".join(run))
    every = max(1, round(count / 6))
    x_ticks = [Tick(position=x_of(i), label=labels[i]) for i in range(0, len(labels), every)]
    y_ticks = [Tick(position=y_of(step / 4), label=f"{step * 25}%") for step in range(5)]
    return TimeChart(
        width=WIDTH,
        height=bottom + MARGIN_BOTTOM,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        columns=columns,
        segments=segments,
        points=points,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        column_max=column_max,
        rows=list(row_details),
    )
