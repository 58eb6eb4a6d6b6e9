"""A sweep as `reins sweep show` and the TUI present it: members grouped by grid point, ranked by the sweep's metric."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.runs.store import RunStore, RunView
from engine.sweeps import record as records
from engine.sweeps.ranking import PointResult, higher_is_better, metric_of, rank_points, resolve_metric


@dataclass
class SweepSummary:
    """The record (states refreshed), the metric that ranks it and its direction, and one result per grid point."""

    record: dict[str, Any]
    metric: str
    higher: bool
    points: list[PointResult]

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def status(self) -> str:
        return str(self.record.get("status"))

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "stopped", "ended")

    @property
    def columns(self) -> dict[str, str]:
        """Grid key → its column name."""
        return dict(self.record.get("columns") or {k: k for k in self.record.get("grid", {})})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.record["members"]:
            out[m["status"]] = out.get(m["status"], 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**self.record, "metric_used": self.metric, "higher_is_better": self.higher,
                "points": [p.to_dict() for p in self.points]}


def member_facts(view: RunView | None) -> dict[str, Any]:
    """What a member's row shows besides the metric: final train loss, held-out accuracy and margin, alerts,
    the verdict, the run's id and status."""
    if view is None:
        return {}
    last = view.summary.last
    train, ev = last.get("train", {}), last.get("eval", {})
    return {"run_id": view.id, "status": view.status, "loss": train.get("loss"),
            "eval_accuracy": ev.get("rewards/accuracies"), "eval_margin": ev.get("rewards/margins"),
            "alerts": view.summary.alerts,
            "verdict": view.record.get("verdict"), "step": view.summary.step, "max_steps": view.summary.max_steps}


def summarize_sweep(path: Path, store: RunStore) -> SweepSummary:
    rec, views = records.refresh(path, store)
    members = [(m, views.get(m.get("run_id") or "")) for m in rec["members"]]
    metric = resolve_metric(rec.get("metric") or "auto", [v for _, v in members if v is not None])
    higher = higher_is_better(metric, rec.get("direction"))
    points: dict[str, PointResult] = {}
    for m, view in members:
        key = repr(sorted(m["settings"].items()))
        label = " ".join(part for part in m["label"].split() if not part.startswith("seed="))
        point = points.setdefault(key, PointResult(label, m["settings"], []))
        score = metric_of(view, metric) if view is not None and view.status == "completed" else None
        point.members.append({**m, **member_facts(view), "score": score.__dict__ if score else None})
        if score is not None:
            point.scores.append(score)
    result = list(points.values())
    rank_points(result, higher)
    return SweepSummary(rec, metric, higher, result)


def await_reports(summary: SweepSummary, store: RunStore) -> bool:
    """Let each completed member's worker finish its report (whose headline ranks the member) before the ranking is
    final; True when any had not written it yet, so the summary is to be read again."""
    from engine.runs.follow import wait_for_report

    done = [store.get(m["run_id"]) for m in summary.record["members"] if m["status"] == "completed" and m.get("run_id")]
    pending = [v.dir for v in done if "headline" not in v.record]
    for rd in pending:
        wait_for_report(rd)
    return bool(pending)
