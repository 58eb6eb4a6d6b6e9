"""Chart series: every metric point of a run by split and key, placed on a step, epoch or tokens-seen axis."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The x axes charts can be aligned on, in the order `e` cycles through them, and what a run lacking one misses.
X_AXES = ("step", "epoch", "tokens")
X_MISSING = {"epoch": "epoch counts", "tokens": "token counts"}


def next_x(x: str) -> str:
    return X_AXES[(X_AXES.index(x) + 1) % len(X_AXES)] if x in X_AXES else X_AXES[0]


@dataclass
class Series:
    """Every metric point of one run, per split and key, in step order (built incrementally from events)."""

    points: dict[tuple[str, str], tuple[list[float], list[float]]] = field(default_factory=dict)
    epochs: dict[int, float] = field(default_factory=dict)
    tokens: dict[int, float] = field(default_factory=dict)  # step → tokens seen so far (TRL's cumulative num_tokens)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    evaluation: dict[str, Any] | None = None  # the latest post-training `evaluation` event

    def add(self, events: Iterable[dict[str, Any]]) -> bool:
        """Take new events; True if any chart point was added."""
        added = False
        for ev in events:
            kind = ev.get("kind")
            if kind == "metric":
                step = ev.get("step")
                if step is None:
                    continue
                split = ev.get("split", "train")
                if ev.get("epoch") is not None:
                    self.epochs[int(step)] = float(ev["epoch"])
                seen = (ev.get("values") or {}).get("num_tokens")
                if isinstance(seen, (int, float)) and (split == "train" or int(step) not in self.tokens):
                    self.tokens[int(step)] = float(seen)  # train's count wins over an eval log at the same step
                for key, value in (ev.get("values") or {}).items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        xs, ys = self.points.setdefault((split, key), ([], []))
                        xs.append(float(step))
                        ys.append(float(value))
                        added = True
            elif kind == "status" and ev.get("start_step") is not None:
                added = self._cut(float(ev["start_step"])) or added
            elif kind == "alert":
                self.alerts.append(ev)
            elif kind == "sample":
                self.samples.append(ev)
            elif kind == "evaluation":
                self.evaluation = ev
        return added

    def _cut(self, step: float) -> bool:
        """A resumed attempt logs again the steps after its checkpoint: drop the earlier attempt's points past it,
        so the charts continue from the checkpoint instead of doubling back."""
        cut = False
        for xs, ys in self.points.values():
            keep = sum(1 for x in xs if x <= step)
            if keep < len(xs):
                del xs[keep:], ys[keep:]
                cut = True
        self.epochs = {s: e for s, e in self.epochs.items() if s <= step}
        self.tokens = {s: t for s, t in self.tokens.items() if s <= step}
        return cut

    def has_x(self, x: str) -> bool:
        """Whether this run's events can place points on the `x` axis (step always; epoch and tokens when logged)."""
        return x == "step" or bool(self.epochs if x == "epoch" else self.tokens if x == "tokens" else False)

    def get(self, split: str, key: str, x: str = "step") -> tuple[list[float], list[float]]:
        """(xs, ys) of one metric with x as step, epoch or tokens seen; empty when the run lacks that axis."""
        xs, ys = self.points.get((split, key), ([], []))
        if x == "step":
            return xs, ys
        table = self.epochs if x == "epoch" else self.tokens if x == "tokens" else {}
        if not table:
            return [], []
        known = sorted(table)
        out_x, out_y = [], []
        for s, y in zip(xs, ys, strict=True):
            # An eval logged at a step the train log skipped: the count at the last step logged before it.
            i = bisect_right(known, int(s)) - 1
            if i >= 0:
                out_x.append(table[known[i]])
                out_y.append(y)
            elif x == "tokens" and s <= 0:  # the eval before training: no tokens seen yet
                out_x.append(0.0)
                out_y.append(y)
        return out_x, out_y


def read_series(events_path: Path, max_bytes: int = 8 * 1024 * 1024) -> tuple[Series, int]:
    """The whole history of a run (chunked reads), and the offset to continue following from."""
    from engine.runs.events import read_from

    series, offset = Series(), 0
    while True:
        chunk = read_from(events_path, offset, max_bytes=max_bytes)
        if chunk.offset == offset:
            return series, offset
        series.add(chunk.events)
        offset = chunk.offset
