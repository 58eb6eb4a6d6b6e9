"""The Sweeps screen: the list, a sweep's members best first with their marks, a member opened, all compared."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app


def member_cells(table, heading: str) -> list[str]:  # noqa: ANN001
    """The cells under the column headed `heading`, top to bottom."""
    col = [str(c.label) for c in table.ordered_columns].index(heading)
    return [str(table.get_cell_at((i, col))) for i in range(table.row_count)]


@pytest.mark.anyio
async def test_a_sweeps_members_come_best_first_open_and_compare(tmp_path: Path, fake_runs: SimpleNamespace,
                                                                 settle, until, text_of) -> None:
    runs = tmp_path / "runs"
    clear, tied = fake_runs.write_demo_sweeps(runs)
    app = make_app(runs_dir=runs, now=None, start="runs", refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("3")
        screen = app.screen
        assert type(screen).__name__ == "SweepsScreen"
        await until(pilot, app, lambda: screen.loaded)
        listing = screen.query_one("#sweeps-table")
        assert [str(listing.get_row_at(i)[0]) for i in range(listing.row_count)] == [tied, clear]  # newest first
        members = screen.query_one("#sweep-members")
        # The newest is selected: its two scored points overlap, so both are `tied`; the queued one is unranked.
        assert screen.selected == tied
        assert member_cells(members, "rank") == ["1 tied", "2 tied", "–"]
        assert member_cells(members, "beta") == ["0.3", "0.1", "1"]
        assert member_cells(members, "status") == ["completed", "completed", "queued"]
        assert "tied:" in text_of(screen.query_one("#sweep-head"))

        await pilot.press("down")  # the other sweep
        await until(pilot, app, lambda: screen.selected == clear and members.row_count == 3
                    and member_cells(members, "beta")[0] == "0.1")
        assert member_cells(members, "rank") == ["1 best", "2", "3"]
        assert member_cells(members, "beta") == ["0.1", "0.05", "0.5"]
        assert member_cells(members, "headline")[0] == "0.780 [0.69, 0.86]"
        assert member_cells(members, "verdict") == ["keep", "unsure", "drop"]
        assert screen.query_one("SweepChart").points == 3
        assert screen.query_one("SweepChart").border_title == "headline by beta (log)"

        await pilot.press("enter")  # to the members; enter again opens the best one's run
        assert app.focused is members
        await pilot.press("enter")
        await until(pilot, app, lambda: type(app.screen).__name__ == "RunScreen")
        assert app.screen.run_id == f"{clear}-2"
        await pilot.press("escape")
        await until(pilot, app, lambda: app.screen is screen)

        await pilot.press("c")  # every member overlaid, best first
        await until(pilot, app, lambda: type(app.screen).__name__ == "CompareScreen" and app.screen.loaded)
        assert app.screen.run_ids == [f"{clear}-2", f"{clear}-1", f"{clear}-3"]


@pytest.mark.anyio
async def test_no_sweeps_says_how_to_make_one(tmp_path: Path, settle, text_of) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="sweeps", refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert "No sweeps yet" in text_of(app.screen.query_one("#sweeps-status"))
        await pilot.press("c")  # nothing to compare: a warning, no screen
        await settle(pilot, app)
        assert type(app.screen).__name__ == "SweepsScreen"
