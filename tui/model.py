"""What the screens show, computed from engine data without any widget: table rows, chart series, diffs, ETAs."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.formatting import hms
from engine.runs.rundir import elapsed_s

# Charts per method: (title, [(metric key, legend label)]). Train and eval of every key are overlaid.
CHARTS: dict[str, list[tuple[str, list[str]]]] = {
    "dpo": [
        ("loss", ["loss"]),
        ("rewards/margins", ["rewards/margins"]),
        ("rewards/accuracies", ["rewards/accuracies"]),
        ("logps chosen vs rejected", ["logps/chosen", "logps/rejected"]),
        ("rewards chosen vs rejected", ["rewards/chosen", "rewards/rejected"]),
    ],
    "sft": [
        ("loss", ["loss"]),
        ("mean_token_accuracy", ["mean_token_accuracy"]),
        ("entropy", ["entropy"]),
        ("grad_norm", ["grad_norm"]),
    ],
    "ppo": [
        ("objective/kl", ["objective/kl"]),
        ("objective/scores", ["objective/scores"]),
        ("loss/policy_avg", ["loss/policy_avg"]),
        ("loss/value_avg", ["loss/value_avg"]),
    ],
}
DEFAULT_CHARTS = [("loss", ["loss"]), ("grad_norm", ["grad_norm"]), ("learning_rate", ["learning_rate"])]
# Headline columns of the Runs table and the Compare metrics table, per method.
HEADLINE: dict[str, tuple[str, ...]] = {
    "dpo": ("rewards/margins", "rewards/accuracies"),
    "sft": ("loss", "mean_token_accuracy"),
}


# The x axes charts can be aligned on, in the order `e` cycles through them, and what a run lacking one misses.
X_AXES = ("step", "epoch", "tokens")
X_MISSING = {"epoch": "epoch counts", "tokens": "token counts"}


def next_x(x: str) -> str:
    return X_AXES[(X_AXES.index(x) + 1) % len(X_AXES)] if x in X_AXES else X_AXES[0]


def charts_for(method: str | None) -> list[tuple[str, list[str]]]:
    return CHARTS.get(method or "", DEFAULT_CHARTS)


def fmt(value: Any, digits: int = 3) -> str:
    """A number short enough for a table cell."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


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

    def keys(self) -> set[str]:
        return {k for _, k in self.points}


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


_ESTIMATES: dict[Path, dict[str, Any]] = {}


def read_estimate(run_path: Path) -> dict[str, Any] | None:
    """A run's estimate.json (written once before launch, so a read one is kept: the Runs table re-reads often)."""
    if run_path in _ESTIMATES:
        return _ESTIMATES[run_path]
    try:
        data = json.loads((run_path / "estimate.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    _ESTIMATES[run_path] = data
    return data


def measured_peak(view: Any) -> float | None:
    """The measured peak memory in GiB: GPU peak reserved where there was a GPU, else process peak RSS."""
    final = view.summary.final or {}
    system = view.summary.system
    for source in (final, system):
        for key in ("peak_mem_gb", "peak_rss_gb"):
            if isinstance(source.get(key), (int, float)):
                return float(source[key])
    return None


def rank_peaks(view: Any) -> list[tuple[int, float]]:
    """(rank, peak GiB) for every process of a multi-process run, from its final summary (empty for one process)."""
    ranks = (view.summary.final or {}).get("ranks") or []
    out = []
    for r in ranks:
        peak = r.get("peak_mem_gb", r.get("peak_rss_gb"))
        if isinstance(peak, (int, float)):
            out.append((int(r.get("rank", len(out))), float(peak)))
    return out


_SETTINGS: dict[Path, dict[str, Any]] = {}
# How each key setting reads in a table cell: a symbol before its value, or a function of the value.
SETTING_LABELS: dict[str, Any] = {
    "beta": "β", "loss_type": "", "desirable_weight": "w+", "undesirable_weight": "w−", "cpo_alpha": "α",
    "simpo_gamma": "γ", "kl_coef": "kl", "num_generations": "G", "center_rewards_coefficient": "c",
    "packing": lambda v: "packed" if v else "", "lr": "lr", "lora_r": lambda v: "full" if v is None else f"r{v}",
    "quantization": lambda v: str(v),
}


def read_settings(view: Any) -> dict[str, Any]:
    """A run's key settings: from run.json (the launcher records them), else from its recipe.yaml, read once (a
    resolved recipe never changes). Called off the UI thread."""
    recorded = view.record.get("settings")
    if isinstance(recorded, dict):
        return recorded
    path = view.dir.path
    if path not in _SETTINGS:
        import yaml

        from engine.recipe.keysettings import key_settings

        try:
            # The C loader when PyYAML has it: ~0.3 ms a recipe, against ~3 ms in pure Python.
            data = yaml.load((path / "recipe.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, yaml.YAMLError):
            return {}
        _SETTINGS[path] = key_settings(data) if isinstance(data, dict) else {}
    return _SETTINGS[path]


def settings_text(settings: dict[str, Any]) -> str:
    """`β0.1 sigmoid lr2e-4 r16 4bit`: short enough for a table column."""
    parts = []
    for key, value in settings.items():
        label = SETTING_LABELS.get(key, f"{key}=")
        if callable(label):
            part = label(value)
        elif isinstance(value, float):
            part = label + (f"{value:.0e}".replace("e-0", "e-") if 0 < abs(value) < 1e-2 else f"{value:g}")
        else:
            part = f"{label}{value}"
        if part:
            parts.append(part)
    return " ".join(parts)


@dataclass(frozen=True)
class RunRow:
    """One line of the Runs table (all strings, plus raw values to sort on)."""

    id: str
    name: str
    status: str
    method: str
    settings: str
    model: str
    step: str
    headline: tuple[str, str]
    alerts: int
    memory: str
    duration: str
    created: str
    sort_step: int
    search: str


def duration(record: dict[str, Any], status: str, now: datetime | None) -> str:
    """Wall time from start to end (to `now` for a live run; blank when `now` is not given, for snapshots)."""
    return hms(elapsed_s(record, now if status in ("running", "starting", "created") else None))


def run_row(view: Any, now: datetime | None = None) -> RunRow:
    rec, s = view.record, view.summary
    method = str(rec.get("method", "?"))
    status = view.status
    last = s.last.get("train", {})
    keys = HEADLINE.get(method, ("loss", "grad_norm"))
    headline = tuple(fmt(last.get(k)) for k in keys)
    est = read_estimate(view.dir.path)
    peak = measured_peak(view)
    est_s = f"{est['total_gib']:.1f}" if est and isinstance(est.get("total_gib"), (int, float)) else "?"
    memory = f"{est_s}/{peak:.1f}" if peak is not None else f"{est_s}/–"
    step = f"{s.step}/{s.max_steps}" if s.max_steps else (str(s.step) if s.step else "")
    model = Path(str(rec.get("model", "?"))).name
    name = str(rec.get("name", ""))
    settings = settings_text(read_settings(view))
    return RunRow(
        id=view.id, name=name, status=status, method=method, settings=settings, model=model, step=step,
        headline=headline, alerts=s.alerts, memory=memory, duration=duration(rec, status, now),
        created=str(rec.get("created", "")), sort_step=s.step,
        search=" ".join((view.id, name, status, method, model, settings)).lower(),
    )


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as dotted keys (`train.learning_rate`), lists kept whole."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: data} if prefix else {}


def config_diff(recipes: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """Only the settings that differ between runs: (dotted key, value per run), sorted by key."""
    flats = [flatten(r) for r in recipes]
    keys = sorted(set().union(*flats)) if flats else []
    missing = object()
    rows = []
    for key in keys:
        values = [f.get(key, missing) for f in flats]
        if any(v != values[0] for v in values[1:]):
            rows.append((key, [None if v is missing else v for v in values]))
    return rows


def read_recipe(run_path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load((run_path / "recipe.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def progress(summary: Any) -> dict[str, Any]:
    """Step, fraction done, seconds per step, tokens per second and ETA, from the event summary only (no clock)."""
    step, total = summary.step, summary.max_steps
    sps = summary.system.get("s_per_step")
    tps = summary.system.get("tokens_per_s")
    frac = min(1.0, step / total) if total else None
    eta = sps * (total - step) if sps and total and step < total else None
    return {"step": step, "total": total, "fraction": frac, "s_per_step": sps, "tokens_per_s": tps, "eta_s": eta}


def log_tail(path: Path, lines: int = 200, block: int = 64 * 1024) -> list[str]:
    """The last lines of a log, reading only its end."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - block))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").replace("\r", "\n")
    out = text.splitlines()
    if size > block and out:
        out = out[1:]
    return out[-lines:]


# The stage a method belongs to, for grouping recipes (methods not known yet land in "Other").
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Supervised fine-tuning", ("sft",)),
    ("Reward modelling", ("rm", "reward")),
    ("Reinforcement learning", ("ppo", "grpo", "rloo")),
    ("Preference optimisation", ("dpo", "ipo", "kto", "orpo", "simpo", "cpo")),
)


def stage_of(method: str) -> str:
    for stage, methods in STAGES:
        if method in methods:
            return stage
    return "Other"


def recipe_header(path: Path) -> list[str]:
    """The comment lines a recipe file starts with (what it does and how to run it)."""
    lines = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                lines.append(line[1:].strip())
    except OSError:
        return []
    return lines


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
