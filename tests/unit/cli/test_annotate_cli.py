"""`reins annotate`: list a run's samples with both verdicts, mark one, refuse bad input with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

RUN = "20261127-000000-dpo"


def _run(root: Path, make_run) -> None:
    events = [("sample", {"step": 20, "index": i, "prompt": f"question {i}", "reference": "r", "policy": "p",
                          "winner": w}) for i, w in enumerate(("policy", "reference", None))]
    make_run(root, RUN, events=[*events, ("evaluation", {"step": 20, "values": {"samples": 3}})])


def test_mark_then_list(tmp_path: Path, make_run, reins) -> None:
    _run(tmp_path, make_run)
    res = reins("annotate", RUN, "2", "--winner", "policy", "--note", "shorter", runs=tmp_path,
                env={"USER": "ana"})
    assert res.returncode == 0, res.stderr
    assert "marked #2: policy; the judge said reference (disagreement)" in res.stderr
    assert "agreement 0/1" in res.stderr
    record = json.loads((tmp_path / RUN / "annotations.jsonl").read_text())
    assert (record["source"]["sample"], record["choice"], record["annotator"], record["note"]) == (1, "a", "ana",
                                                                                                     "shorter")
    listed = json.loads(reins("annotate", RUN, "--list", "--json", runs=tmp_path).stdout)
    assert [(s["number"], s["judge"], s["human"], s["agrees"]) for s in listed["samples"]] == \
        [(1, "policy", None, None), (2, "reference", "policy", False), (3, None, None, None)]
    assert listed["agreement"]["n"] == 1 and listed["agreement"]["agree"] == 0
    plain = reins("annotate", RUN, runs=tmp_path)
    assert "question 1" in plain.stdout and "policy ≠" in plain.stdout and "agreement 0/1" in plain.stdout


def test_bad_input_exits_2_without_a_traceback(tmp_path: Path, make_run, reins) -> None:
    _run(tmp_path, make_run)
    for args in (("9", "--winner", "policy"), ("1", "--winner", "better"), ("1",), ("--winner", "tie")):
        res = reins("annotate", RUN, *args, runs=tmp_path)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
    assert "no sample #9" in reins("annotate", RUN, "9", "-w", "tie", runs=tmp_path).stderr
    assert reins("annotate", "nope", "--list", runs=tmp_path).returncode == 2
    assert not (tmp_path / RUN / "annotations.jsonl").exists()
