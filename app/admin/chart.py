"""The console's throughput chart: jobs processed and failed per period, as the geometry of a
server-rendered SVG (templates/admin/_chart.html draws it; no chart library, no script).

Each period is one bar as tall as the runs that ended in it (completed + failed), its failed part
red on top; retried runs are counted in the totals below the chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.jobs.stats import JobStats, StatsWindow

WIDTH = 720
HEIGHT = 180
LEFT = 40  # room for the y labels
BOTTOM = 20  # room for the x labels
TOP = 8

# window -> (x label every n periods, label format)
_TICKS: dict[StatsWindow, tuple[int, str]] = {
    StatsWindow.hour: (10, "%H:%M"),
    StatsWindow.day: (36, "%H:%M"),
    StatsWindow.week: (24, "%a %d"),
}


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    completed_y: float
    completed_height: float
    failed_y: float
    failed_height: float
    label: str  # the period and its counts, the bar's tooltip and accessible name


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    window: StatsWindow
    width: int
    height: int
    left: int
    bottom: float  # y of the x axis
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    completed: int
    failed: int
    retried: int
    peak: int  # the most runs ended in one period


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above value (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _label(start: datetime, step: timedelta, completed: int, failed: int) -> str:
    end = start + step
    return f"{start:%H:%M} to {end:%H:%M} UTC: {completed + failed} processed, {failed} failed"


def chart(stats: JobStats) -> Chart:
    """The chart of every function's runs together over the stats' window."""
    periods = len(stats.functions[0].points) if stats.functions else 0
    completed = [0] * periods
    failed = [0] * periods
    for function in stats.functions:
        for i, point in enumerate(function.points):
            completed[i] += point.completed
            failed[i] += point.failed
    step = timedelta(seconds=stats.step_seconds)
    count = (
        periods or {StatsWindow.hour: 60, StatsWindow.day: 288, StatsWindow.week: 168}[stats.window]
    )
    peak = max((c + f for c, f in zip(completed, failed, strict=True)), default=0)
    top = _nice_ceiling(peak)
    plot_w = WIDTH - LEFT
    plot_h = HEIGHT - BOTTOM - TOP
    base = HEIGHT - BOTTOM
    slot = plot_w / count
    bars = []
    for i in range(periods):
        done_h = plot_h * completed[i] / top
        fail_h = plot_h * failed[i] / top
        x = LEFT + i * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.1, 2),
                width=round(max(slot * 0.8, 0.5), 2),
                completed_y=round(base - done_h, 2),
                completed_height=round(done_h, 2),
                failed_y=round(base - done_h - fail_h, 2),
                failed_height=round(fail_h, 2),
                label=_label(stats.since + i * step, step, completed[i], failed[i]),
            )
        )
    every, form = _TICKS[stats.window]
    x_ticks = [
        Tick(round(LEFT + i * slot, 2), (stats.since + i * step).strftime(form))
        for i in range(0, count, every)
    ]
    y_ticks = [Tick(round(base - plot_h * n / 2, 2), _fmt(top * n / 2)) for n in (0, 1, 2)]
    return Chart(
        window=stats.window,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        bottom=base,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        completed=sum(completed),
        failed=sum(failed),
        retried=sum(f.retried for f in stats.functions),
        peak=peak,
    )


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"
