"""Statistics charts drawn off-screen with matplotlib's Agg backend (no Qt, runs on a worker).

PySide6-Essentials has no QtCharts, so the charts are rendered to an RGBA array that the
statistics view wraps in a QImage. Without matplotlib the view shows the numbers only.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import numpy as np

from core.contracts import AgreementPublic
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


def render_agreement_chart(agreement: AgreementPublic, *, width: int = 1200, height: int = 360,
                           dpi: int = 100) -> np.ndarray | None:
    """(height, width, 4) RGBA picture of the agreement figures, or None without matplotlib
    or without any row."""
    if not charts_available() or not agreement.rows:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(agreement_figure(agreement, width=width, height=height, dpi=dpi))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def agreement_figure(agreement: AgreementPublic, *, width: int = 1200, height: int = 360,
                     dpi: int = 100) -> Figure:
    """Left: kappa and percent agreement per reader and model version with their 95 %
    intervals. Right: where outcomes exist, sensitivity and specificity of the reader, the
    model and "reader or model" (the first such row), with their intervals."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=FACE)
    left, right = figure.subplots(1, 2)
    rows = agreement.rows[:8]
    names = [f"{r.reader}\n{r.model.split('@')[0]}" for r in rows]
    x = np.arange(len(rows))
    for offset, label, color, values in (
        (-0.2, "kappa", BAR, [(r.kappa.value, r.kappa.low, r.kappa.high) for r in rows]),
        (0.2, "agreement", ACCENT,
         [(r.agreement.value, r.agreement.low, r.agreement.high) for r in rows]),
    ):
        _bars(left, x + offset, values, color=color, label=label)
    left.set_xticks(x, names, fontsize=7)
    left.set_ylim(-0.2, 1.1)
    left.set_title("Reader-model agreement (95% intervals)")
    left.legend(facecolor=FACE, labelcolor=TEXT, fontsize=8)
    settled = next((r for r in agreement.rows if r.reader_alone is not None), None)
    if settled is None:
        right.text(0.5, 0.5, "No outcomes recorded yet", ha="center", va="center", color=TEXT)
        right.set_xticks([])
        right.set_yticks([])
    else:
        parts = [("reader", settled.reader_alone), ("model", settled.model_alone),
                 ("reader or model", settled.reader_or_model)]
        x = np.arange(len(parts))
        for offset, label, color, key in ((-0.2, "sensitivity", BAR, "sensitivity"),
                                          (0.2, "specificity", ACCENT, "specificity")):
            values = []
            for _, figures in parts:
                rate = getattr(figures, key)
                values.append((rate.value, rate.low, rate.high))
            _bars(right, x + offset, values, color=color, label=label)
        right.set_xticks(x, [name for name, _ in parts])
        right.set_ylim(0, 1.1)
        right.set_title(f"{settled.reader}, {settled.with_outcome} cases with outcome")
        right.legend(facecolor=FACE, labelcolor=TEXT, fontsize=8)
    for axes in (left, right):
        _style(axes)
    figure.tight_layout()
    return figure


def _bars(axes: object, x: np.ndarray, values: list, *, color: str, label: str) -> None:
    heights = [0.0 if v is None else v for v, _, _ in values]
    # max(0, ...): a Wilson bound at 0 % or 100 % can miss the value by a rounding error.
    low = [0.0 if v is None or lo is None else max(0.0, v - lo) for v, lo, _ in values]
    high = [0.0 if v is None or hi is None else max(0.0, hi - v) for v, _, hi in values]
    axes.bar(x, heights, width=0.38, color=color, label=label,  # type: ignore[attr-defined]
             yerr=[low, high], ecolor=TEXT, capsize=3)
