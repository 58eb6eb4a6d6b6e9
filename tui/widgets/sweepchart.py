"""A sweep's chart (textual-plot): its ranking metric against the swept value, intervals as whiskers."""

from __future__ import annotations

from collections.abc import Sequence

from textual_plot import PlotWidget
from textual_plot.axis_formatter import AxisFormatter

from tui.display.sweeps import SweepPlot
from tui.widgets.chart import EVAL_MARKERS, STYLES, single_value_limits


class TickLabels(AxisFormatter):
    """Ticks at the swept values, labelled as typed (`0.05`, `5e-05`, `ipo`): a log axis is drawn on log10 of the
    values, so the plot's own labels would read -1.3 for 0.05."""

    def __init__(self, ticks: Sequence[tuple[float, str]]) -> None:
        self.ticks = list(ticks)

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        return [t for t, _ in self.ticks]

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        labels = dict(self.ticks)
        return [labels.get(t, "") for t in ticks]


class SweepChart(PlotWidget, can_focus=False):
    """The metric of each grid point (its mean over seeds) against the first grid key, one line per combination of
    the other keys; `show()` redraws it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(allow_pan_and_zoom=False, **kwargs)  # type: ignore[arg-type]
        self.points = 0
        self._pending: tuple[SweepPlot | None, str] | None = None

    def on_mount(self) -> None:
        self.margin_top = 0
        self.margin_bottom = 1  # the tick labels only: the axis is named in the title
        self.margin_left = 8
        if self._pending is not None:
            self.call_after_refresh(self.show, *self._pending)

    def show(self, plot: SweepPlot | None, metric: str) -> int:
        """Redraw from `plot` (see tui.display.sweeps.sweep_plot); returns how many points were drawn."""
        if not self.children:  # not composed yet: draw once mounted
            self._pending = (plot, metric)
            return 0
        self.clear()
        drawn = 0
        if plot is None:
            self.border_title, self.border_subtitle = metric, "no grid"
            self.points = 0
            return 0
        ys: list[float] = []
        for i, line in enumerate(plot.lines):
            colour, mode = STYLES[i % len(STYLES)]
            if len(line.xs) > 1:
                self.plot(line.xs, line.ys, line_style=colour, hires_mode=mode, label=line.label or None)
            # Whiskers: textual-plot's error bars are symmetric, so each is drawn around its interval's middle.
            whiskers = [(x, lo, hi) for x, lo, hi in zip(line.xs, line.lows, line.highs, strict=True)
                        if lo is not None and hi is not None]
            if whiskers:
                self.errorbar([x for x, _, _ in whiskers], [(lo + hi) / 2 for _, lo, hi in whiskers],
                              yerr=[(hi - lo) / 2 for _, lo, hi in whiskers], marker_style=f"dim {colour}")
                ys += [v for _, lo, hi in whiskers for v in (lo, hi)]
            self.scatter(line.xs, line.ys, marker=EVAL_MARKERS[i % len(EVAL_MARKERS)], marker_style=f"bold {colour}",
                         label=None if len(line.xs) > 1 else line.label or None)
            ys += list(line.ys)
            drawn += len(line.xs)
        self.set_x_formatter(TickLabels(plot.ticks))
        self.set_xticks([t for t, _ in plot.ticks])
        self.set_xlimits(*plot.limits)
        # Always set: textual-plot autoscales on lines and markers only, so whiskers would be cut off (and one point
        # alone would get a range of ±1e-6).
        self.set_ylimits(*(y_limits(ys) or (None, None)))
        if len(plot.lines) > 1 and drawn:
            self.show_legend()
        scale = {"log": " (log)", "category": ""}.get(plot.scale, "")
        self.border_title = f"{metric} by {plot.key}{scale}"
        self.border_subtitle = (f"{plot.scored}/{plot.total} points scored" if plot.scored < plot.total
                                else "") if drawn else "no member has finished yet"
        self.points = drawn
        return drawn


def y_limits(ys: list[float]) -> tuple[float, float] | None:
    """The y range that holds every mean and whisker, with a little room above and below."""
    if not ys:
        return None
    low, high = min(ys), max(ys)
    if low == high:
        return single_value_limits(ys)
    pad = (high - low) * 0.08
    return low - pad, high + pad
