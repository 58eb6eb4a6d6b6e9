"""The Annotate and Data screens: side by side at 120 columns and stacked at 80, the progress line, each key's
record in the journal, undo, a better answer and a note through the dialog, resuming where the person left."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import api
from tui.app import make_app


def _set(tmp_path: Path, write_jsonl, pairs_rows) -> tuple[Path, str]:  # noqa: ANN001
    runs = tmp_path / "runs"
    found, _ = api.open_annotation_set(str(write_jsonl(tmp_path / "pairs.jsonl", pairs_rows(10))), runs)
    return runs, found.id


@pytest.mark.anyio
async def test_annotate_keys_go_to_the_journal_and_resume(tmp_path: Path, write_jsonl, pairs_rows, settle, until,
                                                          text_of) -> None:
    runs, set_id = _set(tmp_path, write_jsonl, pairs_rows)
    app = make_app(runs_dir=runs, now=None, start="data", annotate=(set_id, "ana"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert type(screen).__name__ == "AnnotateScreen"
        line = screen.query_one("#annotate-line")
        assert text_of(line).startswith("item 1 of 10 · 0 done")
        a, b = screen.query_one("#answer-a"), screen.query_one("#answer-b")
        assert a.region.y == b.region.y and b.region.x > a.region.x  # side by side
        assert not screen.has_class("narrow") and a.size.width < 60
        for key in "abts":
            await pilot.press(key)
        assert text_of(line).startswith("item 5 of 10 · 4 done")
        assert screen.query_one("#annotate-bar").progress == 4
        journal = api.annotation_session(set_id, "ana", runs).set.records()
        assert [r["choice"] for r in journal] == ["a", "b", "tie", "skip"]

        await pilot.press("u")  # the skip is taken back: back on item 4, undecided
        assert text_of(line).startswith("item 4 of 10 · 3 done")
        assert "not decided yet" in text_of(screen.query_one("#annotate-decision"))

        await pilot.press("e")
        await until(pilot, app, lambda: type(app.screen).__name__ == "TextScreen")
        area = app.screen.query_one("TextArea")
        area.text = "A much better answer."
        await pilot.press("ctrl+s")
        await until(pilot, app, lambda: app.screen is screen)
        await pilot.press("n")
        await until(pilot, app, lambda: type(app.screen).__name__ == "TextScreen")
        app.screen.query_one("TextArea").text = "both answers miss the point"
        await pilot.press("ctrl+s")
        await until(pilot, app, lambda: app.screen is screen)
        decision = text_of(screen.query_one("#annotate-decision"))
        assert "better answer written" in decision and "note: both answers miss the point" in decision
        assert text_of(line).startswith("item 4 of 10 · 4 done")

        await pilot.press("escape")  # to the list of sets, with this person's progress
        await until(pilot, app, lambda: type(app.screen).__name__ == "DataScreen")
        table = app.screen.query_one("#sets-table")
        await until(pilot, app, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[3]) == "4/10 yours"

    records = api.annotation_session(set_id, "ana", runs).set.records()
    assert [r["action"] for r in records] == ["choose"] * 4 + ["undo", "edit", "note"]
    assert records[-1]["edit"] == "A much better answer." and records[-1]["choice"] is None

    # Reopened at 80 columns: answers stacked, resuming on the first item not handled.
    app = make_app(runs_dir=runs, now=None, start="data", annotate=(set_id, "ana"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert text_of(screen.query_one("#annotate-line")).startswith("item 5 of 10 · 4 done")
        a, b = screen.query_one("#answer-a"), screen.query_one("#answer-b")
        assert screen.has_class("narrow") and a.size.width > 60 and b.size.width == a.size.width  # stacked
        assert b.virtual_region.y > a.virtual_region.y


@pytest.mark.anyio
async def test_data_screen_opens_a_set_with_enter_and_key_4(tmp_path: Path, write_jsonl, pairs_rows, settle,
                                                            until, text_of, fake_runs) -> None:
    runs, set_id = _set(tmp_path, write_jsonl, pairs_rows)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    app.settings.annotator = "bo"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("4")
        await until(pilot, app, lambda: type(app.screen).__name__ == "DataScreen"
                    and app.screen.query_one("#sets-table").row_count == 1)
        assert "enter annotates as bo" in text_of(app.screen.query_one("#data-status"))
        await pilot.press("enter")
        await until(pilot, app, lambda: type(app.screen).__name__ == "AnnotateScreen")
        assert app.screen.annotator == "bo" and app.screen.set_id == set_id


@pytest.mark.anyio
async def test_a_single_answer_is_rated_good_or_bad(tmp_path: Path, write_jsonl, settle, text_of) -> None:
    runs = tmp_path / "runs"
    rows = [{"prompt": f"p{i}", "completion": f"answer {i}"} for i in range(2)]
    found, _ = api.open_annotation_set(str(write_jsonl(tmp_path / "single.jsonl", rows)), runs)
    app = make_app(runs_dir=runs, now=None, start="data", annotate=(found.id, "ana"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert not screen.query_one("#answer-b").display and screen.query_one("#answer-a").border_title == "answer"
        assert text_of(screen.query_one("#annotate-keys")).startswith("a good · b bad")
        await pilot.press("b")
        await pilot.press("a")
        assert text_of(screen.query_one("#annotate-line")).startswith("item 2 of 2 · 2 done")
    records = api.annotation_session(found.id, "ana", runs).set.records()
    assert [(r["kind"], r["choice"]) for r in records] == [("rating", "down"), ("rating", "up")]
