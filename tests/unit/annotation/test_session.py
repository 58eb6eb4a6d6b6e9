"""One annotator's session: seeded order per annotator, decisions, undo as an appended record, edit, note, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.annotation.items import file_items
from engine.annotation.session import DecisionError, Session
from engine.annotation.sets import create_set, find_set, list_sets


@pytest.fixture
def aset(tmp_path: Path, pairs_rows):  # noqa: ANN001, ANN201
    return create_set(tmp_path, "pairs", file_items(pairs_rows(10), "pairs.jsonl"), {"kind": "file"})[0]


def test_the_same_items_reopen_the_same_set(tmp_path: Path, aset, pairs_rows) -> None:  # noqa: ANN001
    again, made = create_set(tmp_path, "pairs", file_items(pairs_rows(10), "pairs.jsonl"), {"kind": "file"})
    assert not made and again.id == aset.id and aset.id.startswith("pairs-")
    assert [s.id for s in list_sets(tmp_path)] == [aset.id]
    assert find_set(tmp_path, "pairs").id == aset.id and find_set(tmp_path, "latest").id == aset.id


def test_order_is_random_per_annotator_and_per_item_and_stable(aset) -> None:  # noqa: ANN001
    ana, bo = Session(aset, "ana"), Session(aset, "bo")
    assert [v.item.id for v in ana.views] != [v.item.id for v in bo.views]
    assert [v.item.id for v in Session(aset, "ana").views] == [v.item.id for v in ana.views]  # resumable
    swaps = [v.shown[0]["who"] == "rejected" for v in ana.views]
    assert any(swaps) and not all(swaps)


def test_decisions_undo_edit_note_and_the_journal_only_grows(aset) -> None:  # noqa: ANN001
    s = Session(aset, "ana")
    s.choose(0, "a")
    s.choose(1, "b")
    s.choose(2, "tie")
    s.note(1, "close call")
    assert s.done == 3 and s.views[1].note == "close call" and s.resume_at() == 3
    first = s.views[0]
    record = aset.records()[0]
    assert record["a"] == first.shown[0] and record["choice"] == "a" and record["position"] == 1
    assert first.preferred == first.shown[0]["who"]

    assert s.undo() == 1 and s.views[1].note is None and s.views[1].choice == "b"  # the note went, not the choice
    assert s.undo() == 2 and s.views[2].choice is None and s.done == 2
    s.edit(2, "Better than both.")
    assert s.views[2].done and s.views[2].edit == "Better than both."
    records = aset.records()
    assert len(records) == 7 and [r["action"] for r in records[-3:]] == ["undo", "undo", "edit"]
    assert Session(aset, "ana").done == 3  # reread from the journal


def test_undo_restores_an_earlier_decision_on_the_same_item(aset) -> None:  # noqa: ANN001
    s = Session(aset, "ana")
    s.choose(0, "a")
    s.choose(0, "b")
    assert s.undo() == 0 and s.views[0].choice == "a"
    assert s.undo() == 0 and s.views[0].choice is None
    with pytest.raises(DecisionError, match="nothing to undo"):
        s.undo()


def test_bad_decisions_are_refused(aset) -> None:  # noqa: ANN001
    s = Session(aset, "ana")
    with pytest.raises(DecisionError, match="unknown decision 'maybe'"):
        s.choose(0, "maybe")
    with pytest.raises(DecisionError, match="no item 11"):
        s.choose(10, "a")
    with pytest.raises(DecisionError, match="--annotator"):
        Session(aset, " ")
    with pytest.raises(DecisionError, match="cannot be empty"):
        s.edit(0, "  ")
    assert aset.records() == []


def test_single_answers_are_rated_good_or_bad(tmp_path: Path) -> None:
    items = file_items([{"prompt": "p", "completion": "c"}], "f.jsonl")
    s = Session(create_set(tmp_path, "single", items, {"kind": "file"})[0], "ana")
    s.choose(0, "b")
    assert s.views[0].choice == "down" and s.views[0].preferred == "down"
    assert aset_kind(s) == "rating"


def aset_kind(s: Session) -> str:
    return s.set.records()[-1]["kind"]
