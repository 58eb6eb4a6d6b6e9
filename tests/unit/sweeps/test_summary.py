"""A sweep's final ranking waits for the reports of members that have just completed."""

from __future__ import annotations

from pathlib import Path

from engine.runs.store import RunStore
from engine.sweeps.summary import SweepSummary, await_reports


def test_the_ranking_waits_for_a_just_completed_members_headline(tmp_path: Path, make_run, late_report) -> None:  # noqa: ANN001
    # The member's worker has recorded `completed` but is still writing its report (which puts the headline that
    # ranks it into run.json): ranking it now would leave it unranked.
    worker = late_report(tmp_path / "m2" / "run.json", {"value": 0.25})
    make_run(tmp_path, "m1").update(headline={"value": 0.5})
    make_run(tmp_path, "m2", pid=worker.pid)
    summary = SweepSummary({"id": "s", "members": [{"status": "completed", "run_id": "m1"},
                                                   {"status": "completed", "run_id": "m2"}]}, "headline", True, [])
    store = RunStore(tmp_path)
    assert "headline" not in store.get("m2").record
    assert await_reports(summary, store) is True  # it waited: the summary is to be read again
    assert store.get("m2").record["headline"] == {"value": 0.25}
    assert await_reports(summary, store) is False  # every report is in: nothing to wait for
