"""Statistics charts drawn off-screen with matplotlib's Agg backend (no Qt, runs on a worker).

PySide6-Essentials has no QtCharts, so the charts are rendered to an RGBA array that the
statistics view wraps in a QImage. Without matplotlib the view shows the numbers only.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import numpy as np

from core.statistics import ReadingStatistics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TEXT = "#d8d8d8"
GRID = "#3a3c41"
FACE = "#1e1f22"
BAR = "#4f9bd9"
ACCENT = "#ffb454"


def charts_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def render_statistics_chart(stats: ReadingStatistics, *, width: int = 1200, height: int = 380,
                            dpi: int = 100) -> np.ndarray | None:
    """(height, width, 4) uint8 RGBA picture of the statistics, or None without matplotlib."""
    if not charts_available():
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = statistics_figure(stats, width=width, height=height, dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def statistics_figure(stats: ReadingStatistics, *, width: int = 1200, height: int = 380,
                      dpi: int = 100) -> Figure:
    """The three charts: readings per day, the score histogram, the two rates. Needs
    matplotlib. Axes that count readings have whole-number ticks only."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=FACE)
    per_day, histogram, rates = figure.subplots(1, 3)
    days = [d.strftime("%m-%d") for d, _ in stats.per_day[-30:]]
    per_day.bar(days, [n for _, n in stats.per_day[-30:]], color=BAR)
    per_day.set_title("Readings per day (last 30 days with readings)")
    edges = np.asarray(stats.histogram_edges)
    histogram.bar(edges[:-1], stats.histogram_counts, width=np.diff(edges), align="edge",
                  color=BAR, edgecolor=FACE)
    histogram.set_title("Calibrated score")
    histogram.set_xlim(0, 1)
    names = ["Positive rate", "Reader agrees"]
    values = [stats.positive_rate, stats.agreement_rate]
    rates.bar(names, [0.0 if v is None else v for v in values], color=[BAR, ACCENT])
    for i, value in enumerate(values):
        rates.text(i, 0.02 if value is None else value + 0.02,
                   "n/a" if value is None else f"{value:.0%}", ha="center", color=TEXT)
    rates.set_ylim(0, 1.1)
    rates.set_title(f"{stats.total} readings, {stats.decided} decided")
    for axes in (per_day, histogram, rates):
        _style(axes)
    for counts in (per_day, histogram):
        counts.yaxis.set_major_locator(MaxNLocator(integer=True))  # no "0.5 readings"
    per_day.tick_params(axis="x", labelrotation=60, labelsize=7)
    figure.tight_layout()
    return figure


def _style(axes: object) -> None:
    axes.set_facecolor(FACE)  # type: ignore[attr-defined]
    axes.title.set_color(TEXT)  # type: ignore[attr-defined]
    axes.tick_params(colors=TEXT)  # type: ignore[attr-defined]
    for spine in axes.spines.values():  # type: ignore[attr-defined]
        spine.set_color(GRID)
    axes.grid(axis="y", color=GRID, linewidth=0.5)  # type: ignore[attr-defined]
