"""Export: TRL preference rows (edits become chosen) and KTO rows, with provenance; conflicts left out; κ."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.annotation.agreement import set_agreement
from engine.annotation.export import ExportError, export
from engine.annotation.items import file_items, run_items
from engine.annotation.session import Session
from engine.annotation.sets import create_set
from engine.verdict.agreement import cohen_kappa


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def choose_who(s: Session, item_id: str, who: str) -> None:
    """Prefer the answer `who` on an item, whichever side it is shown on."""
    index = next(i for i, v in enumerate(s.views) if v.item.id == item_id)
    s.choose(index, "a" if s.views[index].shown[0]["who"] == who else "b")


@pytest.fixture
def aset(tmp_path: Path, pairs_rows):  # noqa: ANN001, ANN201
    return create_set(tmp_path, "pairs", file_items(pairs_rows(4), "pairs.jsonl"), {"kind": "file"})[0]


def test_preference_rows_follow_the_person_not_the_file(tmp_path: Path, aset) -> None:  # noqa: ANN001
    s = Session(aset, "ana")
    choose_who(s, "1", "chosen")
    choose_who(s, "2", "rejected")  # the person disagrees with the file: the export follows the person
    s.choose(next(i for i, v in enumerate(s.views) if v.item.id == "3"), "tie")  # a tie gives no pair
    s.edit(next(i for i, v in enumerate(s.views) if v.item.id == "4"), "Four plus four is eight.")
    done = export(aset, tmp_path / "out.jsonl")
    out = {r["provenance"]["item"]: r for r in rows(tmp_path / "out.jsonl")}
    assert done.rows == 4 and done.decided == 4 and sorted(out) == ["1", "2", "4"]
    assert out["1"]["chosen"] == "1 plus 1 is 2." and out["2"]["chosen"] == "It is 5, I think (row 2)."
    four = [r for r in rows(tmp_path / "out.jsonl") if r["provenance"]["item"] == "4"]
    assert len(four) == 2 and {r["chosen"] for r in four} == {"Four plus four is eight."}  # edit beats both
    prov = out["1"]["provenance"]
    assert prov["set"] == aset.id and prov["annotators"] == ["ana"] and prov["source"]["row"] == 1


def test_kto_rows_and_conflicts(tmp_path: Path, aset) -> None:  # noqa: ANN001
    ana, bo = Session(aset, "ana"), Session(aset, "bo")
    choose_who(ana, "1", "chosen")
    choose_who(bo, "1", "chosen")
    choose_who(ana, "2", "chosen")
    choose_who(bo, "2", "rejected")
    done = export(aset, tmp_path / "kto.jsonl", kto=True)
    assert done.conflicts == ["2"] and done.rows == 2
    assert {(r["completion"], r["label"]) for r in rows(tmp_path / "kto.jsonl")} == {
        ("1 plus 1 is 2.", True), ("It is 3, I think (row 1).", False)}
    assert rows(tmp_path / "kto.jsonl")[0]["provenance"]["annotators"] == ["ana", "bo"]
    only_bo = export(aset, tmp_path / "bo.jsonl", annotator="bo")
    assert only_bo.rows == 2 and not only_bo.conflicts


def test_nothing_to_export_is_a_clear_error(tmp_path: Path, aset) -> None:  # noqa: ANN001
    with pytest.raises(ExportError, match="nothing to export .* 0 of 4 items handled"):
        export(aset, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_cohen_kappa() -> None:
    assert cohen_kappa([]) is None
    assert cohen_kappa([("a", "a"), ("b", "b")]) == 1.0
    assert cohen_kappa([("a", "b"), ("b", "a")]) == -1.0
    # 20 items: 15 agree; each rater says a 10 times, b 10 times → chance .5, κ = (.75 − .5) / .5 = .5
    pairs = [("a", "a")] * 8 + [("b", "b")] * 7 + [("a", "b")] * 2 + [("b", "a")] * 3
    assert cohen_kappa(pairs) == pytest.approx((0.75 - (10 / 20) * (11 / 20) - (10 / 20) * (9 / 20))
                                               / (1 - (10 / 20) * (11 / 20) - (10 / 20) * (9 / 20)))
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None  # one label throughout: κ says nothing
    assert cohen_kappa([("a", "a"), ("b", "a")]) is None  # one rater never varies (a file's label)


def test_agreement_between_annotators_and_with_the_judge(tmp_path: Path) -> None:
    samples = [{"step": 2, "index": i, "prompt": f"p{i}", "reference": f"r{i}", "policy": f"q{i}",
                "winner": "policy" if i % 2 else "reference"} for i in range(4)]
    aset = create_set(tmp_path, "run", run_items("run1", samples), {"kind": "run"})[0]
    ana, bo = Session(aset, "ana"), Session(aset, "bo")
    for i in range(4):
        choose_who(ana, str(i), "policy" if i % 2 else "reference")  # agrees with the judge throughout
        choose_who(bo, str(i), "policy")
    choose_who(bo, "3", "reference")  # bo varies now: κ is defined
    found = {(c.left, c.right): c for c in set_agreement(aset)}
    assert found["ana", "bo"].agree == 1 and found["ana", "bo"].kappa == -0.5
    choose_who(bo, "3", "policy")
    found = {(c.left, c.right): c for c in set_agreement(aset)}
    assert found["ana", "judge"].kappa == 1.0 and found["ana", "judge"].n == 4
    assert found["ana", "bo"].agree == 2 and found["ana", "bo"].kappa is None  # bo said policy throughout
    assert ("ana", "label") not in found  # run items have a judge, not a label
