"""docs/ARCHITECTURE.md matches the code: every event kind, run.json field and run-folder file the engine writes is
named there (a change of contract updates the document in the same commit)."""

from __future__ import annotations

import ast
from pathlib import Path

from engine.runs.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text()


def _engine_calls() -> list[ast.Call]:
    calls = []
    for path in (ROOT / "engine").rglob("*.py"):
        calls += [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)
                  and isinstance(n.func, ast.Attribute)]
    return calls


def test_every_event_kind_the_engine_writes_is_documented() -> None:
    kinds = {"status"} | {c.args[0].value for c in _engine_calls() if c.func.attr == "write" and c.args
                          and isinstance(c.args[0], ast.Constant) and str(c.args[0].value).isidentifier()}
    assert {"metric", "alert", "sample", "evaluation", "phase", "system"} <= kinds  # the scan sees the writers
    assert [k for k in sorted(kinds) if f"| `{k}` |" not in DOC] == []


def test_every_run_json_field_the_engine_writes_is_documented() -> None:
    # RunDir.update / begin_attempt calls (`rd` is what the engine names a RunDir everywhere it writes run.json)
    fields = {kw.arg for c in _engine_calls() if c.func.attr in ("update", "begin_attempt")
              and isinstance(c.func.value, ast.Name) and c.func.value.id == "rd" for kw in c.keywords if kw.arg}
    fields -= {"outcome"}  # begin_attempt's argument: stored as the previous attempt's status
    assert {"kind", "worker_pid", "resume_from", "parents"} <= fields
    assert [f for f in sorted(fields) if f"`{f}`" not in DOC] == []


def test_every_run_folder_file_is_documented() -> None:
    rd = RunDir(Path("/run"))
    names = {getattr(rd, name).name for name in dir(RunDir) if isinstance(getattr(RunDir, name), property)
             and isinstance(getattr(rd, name), Path) and getattr(rd, name).parent == rd.path}
    assert {"run.json", "events.jsonl", "report.md"} <= names
    assert [n for n in sorted(names) if f"`{n}`" not in DOC and f"`{n}/" not in DOC] == []
