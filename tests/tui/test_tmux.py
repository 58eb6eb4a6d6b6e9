"""The TUI in a real terminal: tmux runs `python -m tui` beside a real tiny run; keys via send-keys, screen via
capture-pane. Asserts the live step counter advances, and that quitting leaves the run training."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]
ROOT = Path(__file__).resolve().parents[2]
STEP = re.compile(r"step (\d+)/(\d+)")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)



def test_live_step_counter_advances_under_tmux(tmp_path: Path, tiny_model: Path, write_recipe, wait_until) -> None:
    from engine import api

    runs = tmp_path / "runs"
    train = {"max_steps": 60, "batch_size": 2, "max_length": 64, "eval_steps": None, "eval_on_start": False,
             "logging_steps": 1, "learning_rate": 1e-3}
    recipe = write_recipe(tmp_path / "dpo.yaml", "dpo", tiny_model, train=train, data={"max_rows": 32})
    view = api.launch(recipe, runs_dir=runs, name="tmux")
    session = f"reins-test-{uuid.uuid4().hex[:8]}"
    env = f"PYTHONPATH={ROOT} REINS_RUNS_DIR={runs} TERM=xterm-256color"
    cmd = f"cd {ROOT} && env {env} {sys.executable} -m tui"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd)
    tmux("set-option", "-t", session, "remain-on-exit", "on")  # keep the pane readable after the app exits
    try:
        # Opening the app reattaches to the live run: its Run screen shows `step N/60`.
        def step() -> int | None:
            m = STEP.search(screen(session))
            return int(m.group(1)) if m and int(m.group(1)) > 0 else None

        first = wait_until(step)
        later = wait_until(lambda: (s := step()) is not None and s > first and s)
        assert later > first
        assert view.id in screen(session)

        tmux("send-keys", "-t", session, "q")
        wait_until(lambda: "keep training" in screen(session), timeout=30)
        tmux("send-keys", "-t", session, "y")
        wait_until(lambda: "still training in the background" in screen(session), timeout=30)
        assert api.get_run(view.id, runs).status == "running"  # quitting the TUI never stops a run
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        final = api.stop_run(view.id, runs, wait_s=120)
        assert final.status in ("stopped", "completed")
    assert os.path.isdir(runs / view.id)


def test_annotate_quit_reopen_at_80_columns_export_and_train(tmp_path: Path, tmux_pane, wait_until, write_jsonl,
                                                             pairs_rows, tiny_model: Path, tiny_recipe,
                                                             reins) -> None:
    # The seed's loop in a real terminal: annotate 10 pairs, quit half way, reopen narrow, finish, export, train DPO.
    import json

    from engine import api

    runs = tmp_path / "runs"
    data = write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(10))
    args = ["data", "annotate", str(data), "--annotator", "ana"]
    pane = tmux_pane(args, runs, size=(120, 40))
    wait_until(lambda: "item 1 of 10 · 0 done" in pane.text(), timeout=120, what="the Annotate screen")
    pane.keys("a", "b", "a", "a", "b")
    wait_until(lambda: "5 done" in pane.text(), timeout=60, what="five decisions")
    pane.keys("q")  # no run is training: the TUI closes at once
    wait_until(pane.dead, timeout=120, what="the TUI closed")

    narrow = tmux_pane(args, runs, size=(80, 24))
    wait_until(lambda: "item 6 of 10 · 5 done" in narrow.text(), timeout=120, what="resumed at 80x24")
    narrow.keys("b", "a", "b", "b", "a")
    wait_until(lambda: "10 done" in narrow.text(), timeout=60, what="all ten decided")
    narrow.keys("q")
    wait_until(narrow.dead, timeout=120, what="the TUI closed")

    set_id = api.list_annotation_sets(runs)[0].id
    out = tmp_path / "annotated.jsonl"
    done = json.loads(reins("data", "annotations", "export", set_id, str(out), "--json", runs=runs).stdout)
    assert done["rows"] == 10 and done["decided"] == 10
    recipe = tiny_recipe(tmp_path, tiny_model, "dpo", steps=2, data={"train": str(out), "eval": None},
                         report={"enabled": False})
    view = api.launch(recipe, runs_dir=runs, name="annotated")
    final = api.wait_for(view.id, runs, timeout_s=600)
    assert final.status == "completed", "\n".join(api.read_log(view.id, runs_dir=runs).lines)
    assert final.record.get("train_rows") == 10
