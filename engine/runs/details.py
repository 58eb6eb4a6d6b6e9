"""What `reins show` tells about one run: its view plus the estimate and the report verdict saved beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.runs.store import RunView


@dataclass
class RunDetails:
    """One run with the files a reader shows beside its status: estimate.json and the verdict of report.json."""

    view: RunView
    estimate: Any  # estimate.json as written at launch (None when missing or unreadable)
    verdict: str | None  # report.json's verdict (None before a report exists)

    @property
    def report_md(self) -> Path:
        return self.view.dir.report_md

    @property
    def estimate_total_gib(self) -> float | None:
        """The estimated peak: as the worker recorded it beside the measured one, else from estimate.json."""
        final = self.view.summary.final or {}
        if final.get("estimate_total_gib"):
            return float(final["estimate_total_gib"])
        try:
            return float(self.estimate["total_gib"])
        except (TypeError, KeyError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return {**self.view.to_dict(), "estimate": self.estimate}


def run_details(view: RunView) -> RunDetails:
    """Read the estimate and the report verdict of `view`'s run."""
    try:
        estimate = json.loads(view.dir.estimate.read_text())
    except (OSError, json.JSONDecodeError):
        estimate = None
    try:
        verdict = json.loads(view.dir.report_json.read_text()).get("verdict")
    except (OSError, ValueError, AttributeError):
        verdict = None
    return RunDetails(view, estimate, verdict)
