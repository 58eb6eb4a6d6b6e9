"""SIGKILL the annotation TUI mid-session (the real `reins data annotate` in tmux): every decision the screen showed
as done is in the journal, every line of it reads, and reopening resumes after the last one."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from engine import api

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def test_no_decision_is_lost_when_the_tui_is_killed(tmp_path: Path, write_jsonl, pairs_rows, tmux_pane,
                                                    wait_until) -> None:
    runs = tmp_path / "runs"
    found, _ = api.open_annotation_set(str(write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(10))), runs)
    args = ["data", "annotate", found.id, "--annotator", "ana"]
    pane = tmux_pane(args, runs)
    wait_until(lambda: "item 1 of 10 · 0 done" in pane.text(), timeout=120, what="the Annotate screen")
    pane.keys("a", "b", "t", "a", "b", "s")  # six keys at once, faster than a person
    wait_until(lambda: "6 done" in pane.text(), timeout=60, what="six decisions shown")
    os.kill(pane.pid(), signal.SIGKILL)
    wait_until(lambda: "Pane is dead" in pane.text() or not _alive(pane.pid()), timeout=30, what="the kill")

    journal = runs / "annotation" / found.id / "annotations.jsonl"
    lines = journal.read_text().splitlines()
    session = api.annotation_session(found.id, "ana", runs)
    assert len(lines) == 6 and session.done == 6
    assert [r["choice"] for r in session.set.records()] == ["a", "b", "tie", "a", "b", "skip"]

    again = tmux_pane(args, runs)
    wait_until(lambda: "item 7 of 10 · 6 done" in again.text(), timeout=120, what="resumed after the kill")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
