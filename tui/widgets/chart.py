"""One metric chart (textual-plot): train as lines, eval as markers, several keys or runs overlaid."""

from __future__ import annotations

import math

from textual_plot import HiResMode, PlotWidget

from tui.display.series import X_MISSING, Series

# Each overlaid key (or run, in Compare) gets a colour AND a texture, so the lines stay apart under NO_COLOR.
STYLES = [("cyan", HiResMode.BRAILLE), ("magenta", HiResMode.QUADRANT), ("green", HiResMode.HALFBLOCK),
          ("yellow", HiResMode.BRAILLE), ("red", HiResMode.QUADRANT), ("blue", HiResMode.HALFBLOCK)]
EVAL_MARKERS = ["◆", "●", "▲", "■", "✚", "✖"]


class MetricChart(PlotWidget, can_focus=False):
    """A small chart of one or two metric keys for one or more runs; `show()` redraws it from series."""

    def __init__(self, title: str, keys: list[str], **kwargs: object) -> None:
        super().__init__(allow_pan_and_zoom=False, **kwargs)  # type: ignore[arg-type]
        self.title = title
        self.keys = keys
        self.border_title = title
        self.points = 0
        self._pinned = (False, False)  # whether the x / y limits are set by `single_value_limits`
        self._pending: tuple[list[tuple[str, Series]], str] | None = None

    def on_mount(self) -> None:
        self.margin_top = 0
        self.margin_bottom = 2
        self.margin_left = 8
        if self._pending is not None:
            self.call_after_refresh(self.show, *self._pending)

    def show(self, runs: list[tuple[str, Series]], x: str = "step") -> int:
        """Redraw from `runs` (label, series); returns how many points were drawn."""
        if not self.children:  # not composed yet: draw once mounted
            self._pending = (runs, x)
            return 0
        self.clear()
        drawn = 0
        evals = False
        # A run that cannot be placed on this x axis (no epoch or token counts logged) is left out, and the title
        # says so: an empty or partial chart must not look like a run without data.
        missing = [label or "this run" for label, series in runs if not series.has_x(x)]
        runs = [(label, series) for label, series in runs if series.has_x(x)]
        title = self.title if x == "step" else f"{self.title} · by {x}"
        self.border_title = title + (f" · no {X_MISSING.get(x, x)} in {', '.join(missing)}" if missing else "")
        lines = [(label, series, key) for label, series in runs for key in self.keys]
        all_x: list[float] = []
        all_y: list[float] = []
        for i, (label, series, key) in enumerate(lines):
            colour, mode = STYLES[i % len(STYLES)]
            name = key.split("/")[-1] if len(self.keys) > 1 else ""
            legend = " ".join(p for p in (label, name) if p)
            xs, ys = series.get("train", key, x)
            if xs:
                self.plot(xs, ys, line_style=colour, hires_mode=mode, label=legend or None)
                drawn += len(xs)
            exs, eys = series.get("eval", key, x)
            if exs:
                self.scatter(exs, eys, marker=EVAL_MARKERS[i % len(EVAL_MARKERS)], marker_style=f"bold {colour}")
                drawn += len(exs)
                evals = True
            all_x += [*xs, *exs]
            all_y += [*ys, *eys]
        self._fit(all_x, all_y, whole_x=x == "step")
        if len(lines) > 1 and drawn:
            self.show_legend()
        self.points = drawn
        self.border_subtitle = ("eval ◆●" if evals else "") if drawn else "no data yet"
        return drawn

    def _fit(self, xs: list[float], ys: list[float], whole_x: bool) -> None:
        # textual-plot widens a range of one value by ±1e-6 only: every tick then reads the same long number and the
        # labels run into each other. Such an axis gets readable limits; any real range is left to the plot's autoscale.
        x_lim, y_lim = single_value_limits(xs, whole=whole_x), single_value_limits(ys)
        if x_lim or self._pinned[0]:
            self.set_xlimits(*(x_lim or (None, None)))
            # Ticks on whole steps only: the autoscaled ticks of a two-step range fall on half steps too.
            self.set_xticks([x_lim[0], x_lim[0] + 1, x_lim[1]] if x_lim and whole_x else None)
        if y_lim or self._pinned[1]:
            self.set_ylimits(*(y_lim or (None, None)))
        self._pinned = (x_lim is not None, y_lim is not None)


def single_value_limits(values: list[float], whole: bool = False) -> tuple[float, float] | None:
    """Axis limits around the one value `values` hold (None when empty or spread): the neighbouring whole numbers
    for a step axis (never below 0), else 10% either side (±1 around 0)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) != max(finite):
        return None
    v = finite[0]
    if whole:
        low = max(0.0, v - 1)
        return low, low + 2
    pad = abs(v) * 0.1 or 1.0
    return v - pad, v + pad
