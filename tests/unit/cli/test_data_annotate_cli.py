"""`reins data annotate --json`, `data from-run`, `data annotations ls|export|agreement`; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

from engine import api

RUN = "20261127-000000-dpo"


def test_from_run_then_export_and_agreement(tmp_path: Path, make_run, reins) -> None:
    events = [("sample", {"step": 20, "index": i, "prompt": f"question {i}", "reference": f"r{i}",
                          "policy": f"p{i}", "winner": "policy"}) for i in range(3)]
    make_run(tmp_path, RUN, events=[*events, ("evaluation", {"step": 20, "values": {"samples": 3}})])
    made = json.loads(reins("data", "from-run", RUN, "--json", runs=tmp_path).stdout)
    assert made["items"] == 3 and made["kind"] == "run" and made["made"]
    session = api.annotation_session(made["id"], "ana", tmp_path)
    for i, view in enumerate(session.views):
        session.choose(i, "a" if view.shown[0]["who"] == "policy" else "b")

    listed = json.loads(reins("data", "annotations", "ls", "--json", runs=tmp_path).stdout)
    assert [(s["id"], s["done"]) for s in listed] == [(made["id"], {"ana": 3})]
    out = tmp_path / "pairs.jsonl"
    done = json.loads(reins("data", "annotations", "export", made["id"], str(out), "--json", runs=tmp_path).stdout)
    assert done["rows"] == 3
    assert [json.loads(line)["chosen"] for line in out.read_text().splitlines()] == ["p0", "p1", "p2"]
    found = json.loads(reins("data", "annotations", "agreement", made["id"], "--json", runs=tmp_path).stdout)
    assert [(c["left"], c["right"], c["n"], c["agree"]) for c in found] == [("ana", "judge", 3, 3)]
    again = reins("data", "from-run", RUN, runs=tmp_path)
    assert "already there" in again.stderr and "3/3" in again.stderr


def test_a_file_makes_a_set_once(tmp_path: Path, reins, write_jsonl, pairs_rows) -> None:
    data = write_jsonl(tmp_path / "mine.jsonl", pairs_rows(3))
    first = json.loads(reins("data", "annotate", str(data), "--json", runs=tmp_path).stdout)
    second = json.loads(reins("data", "annotate", first["id"][:8], "--json", runs=tmp_path).stdout)
    assert first["made"] and not second["made"] and first["id"] == second["id"] and first["items"] == 3


def test_bad_input_exits_2_without_a_traceback(tmp_path: Path, make_run, reins, write_jsonl) -> None:
    make_run(tmp_path, RUN, events=[])
    (tmp_path / "broken.jsonl").write_text('{"prompt": "p", "chosen": \n')
    no_prompt = write_jsonl(tmp_path / "noprompt.jsonl", [{"chosen": "a", "rejected": "b"}])
    cases = {("data", "annotate", str(tmp_path / "missing.jsonl"), "--json"): "does not exist",
             ("data", "annotate", str(tmp_path / "broken.jsonl"), "--json"): "broken.jsonl",
             ("data", "annotate", str(no_prompt), "--json"): "row 1: missing field `prompt`",
             ("data", "annotate", "nosuchset", "--json"): "no annotation set 'nosuchset'",
             ("data", "from-run", RUN): "no held-out generations",
             ("data", "annotations", "export", "nosuchset", str(tmp_path / "o.jsonl")): "no annotation set"}
    for args, message in cases.items():
        res = reins(*args, runs=tmp_path)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert message in " ".join(res.stderr.split()), (args, res.stderr)
