"""The Runs table's rows: one line of strings per run (status with its queue place, key settings, headline metrics,
the GPUs it holds, memory, duration)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.formatting import hms
from engine.recipe.methods import DEFAULT_HEADLINE, method_spec
from engine.runs.rundir import RunDir, elapsed_s
from engine.verdict.decision import rank_key, short_verdict
from tui.display.cells import fmt
from tui.styles import LIVE

_ESTIMATES: dict[Path, dict[str, Any]] = {}


def read_estimate(run_path: Path) -> dict[str, Any] | None:
    """A run's estimate.json (written once before launch, so a read one is kept: the Runs table re-reads often)."""
    if run_path in _ESTIMATES:
        return _ESTIMATES[run_path]
    try:
        data = json.loads(RunDir(run_path).estimate.read_text())
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
            data = yaml.load(RunDir(path).recipe.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
    verdict: str = ""  # the report's keep / drop / unsure and its headline number
    rank: tuple[int, float] = (3, 1.0)  # best first: verdict, then the headline's lower bound
    position: int | None = None  # 1-based place in the queue of a queued run
    gpus: str = ""  # the GPUs a live run holds (`0`, `0-3`, `1,3`)

    @property
    def status_text(self) -> str:
        """The status cell: `queued #2` for a queued run, else its status."""
        return f"{self.status} #{self.position}" if self.position else self.status


def duration(record: dict[str, Any], status: str, now: datetime | None) -> str:
    """Wall time from start to end (to `now` for a live run; blank when `now` is not given, for snapshots)."""
    return hms(elapsed_s(record, now if status in ("running", "starting", "created") else None))


def devices_text(devices: Any) -> str:
    """GPU ids as a short cell: runs of consecutive ids joined (`0-3`), others listed (`1,3`); '' for none."""
    if not isinstance(devices, list) or not all(isinstance(d, int) for d in devices):
        return ""
    spans: list[list[int]] = []
    for d in sorted(set(devices)):
        if spans and d == spans[-1][1] + 1:
            spans[-1][1] = d
        else:
            spans.append([d, d])
    return ",".join(f"{a}-{b}" if b > a + 1 else ",".join(map(str, range(a, b + 1))) for a, b in spans)


def queue_positions(views: list[Any]) -> dict[str, int]:
    """Each queued run's 1-based place in the queue, in the order the scheduler takes them (engine.queue)."""
    if not any(v.status == "queued" for v in views):
        return {}
    from engine.queue.entries import queued  # loaded with engine.api already: no start-up cost

    return {v.id: i for i, v in enumerate(queued(views), 1)}


def run_rows(views: list[Any], now: datetime | None = None) -> list[RunRow]:
    """The Runs table's rows for `views`, queued runs with their place in the queue."""
    positions = queue_positions(views)
    return [run_row(v, now, positions.get(v.id)) for v in views]


def run_row(view: Any, now: datetime | None = None, position: int | None = None) -> RunRow:
    rec, s = view.record, view.summary
    method = view.what  # the method of a training run, else the run's kind (generate, evaluate)
    status = view.status
    last = s.last.get("train", {})
    spec = method_spec(method)
    keys = spec.headline if spec else DEFAULT_HEADLINE
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
        verdict=short_verdict(rec), rank=rank_key(rec), position=position,
        # The GPUs a run holds are those given to it at start (run.json `devices`); an ended run holds none.
        gpus=devices_text(rec.get("devices")) if status in LIVE else "",
    )
