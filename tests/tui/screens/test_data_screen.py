"""The Data screen's `i`: a typed path is inspected in a worker and its report shown on a screen pushed on top, with
the p95 lengths and the length bias overall and per category; a missing, broken or folder path is a message on the
status line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tui.app import make_app

N = 20


def _rows() -> list[dict[str, str]]:
    """Rejected answers of 2..21 words; in category `long` the chosen one is twice as long, in `short` about half."""
    rows = []
    for i in range(1, N + 1):
        long = i % 2 == 0
        rows.append({"prompt": f"Topic {i}: say something about item number {i * 7}.", "category":
                     "long" if long else "short", "chosen": " ".join(["c"] * (2 * i if long else (i + 1) // 2)),
                     "rejected": " ".join(["r"] * (i + 1))})
    return rows


def _nearest_rank(values: list[int], q: float) -> int:
    return sorted(values)[math.ceil(q * len(values)) - 1]


def _wilson(wins: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@pytest.fixture
def words_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No converted model in this cache: lengths are counted in words, which the test can count itself.
    monkeypatch.setenv("REINS_CACHE_DIR", str(tmp_path / "cache"))


async def _submit(pilot, app, until, path: str) -> None:  # noqa: ANN001
    await pilot.press("i")
    await until(pilot, app, lambda: type(app.screen).__name__ == "LineScreen")
    field = app.screen.query_one("#line-input")
    assert field.value.endswith("recipes/data/prefs.train.jsonl")  # the bundled pairs by default
    field.value = path
    await pilot.press("enter")


@pytest.mark.anyio
async def test_inspect_shows_p95_and_length_bias(tmp_path: Path, write_jsonl, settle, until, text_of,
                                                 words_only) -> None:
    rows = _rows()
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="data")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await _submit(pilot, app, until, str(data))
        await until(pilot, app, lambda: type(app.screen).__name__ == "InspectScreen")
        shown = text_of(app.screen.query_one("#inspect-text"))

    chosen = [len(r["chosen"].split()) for r in rows]
    rejected = [len(r["rejected"].split()) for r in rows]
    assert "pairs.jsonl: 20 rows, format trl" in shown and "Lengths in words" in shown
    table = [line.split() for line in shown.splitlines()]
    lines = {cells[0]: cells[1:] for cells in table if len(cells) == 4 and all(c.isdigit() for c in cells[1:])}
    assert lines["rejected"] == [str(_nearest_rank(rejected, 0.5)), str(_nearest_rank(rejected, 0.95)), "21"]
    assert lines["chosen"] == [str(_nearest_rank(chosen, 0.5)), str(_nearest_rank(chosen, 0.95)), str(max(chosen))]

    longer = sum(c > r for c, r in zip(chosen, rejected, strict=True))
    low, high = _wilson(longer, N)
    ratio = math.exp(sum(math.log(c / r) for c, r in zip(chosen, rejected, strict=True)) / N)
    assert (f"length bias: chosen longer in {longer / N:.0%} of {N} pairs (95% CI {low:.0%}–{high:.0%}; 0 equal), "
            f"mean length ratio chosen/rejected {ratio:.2f}×") in shown.replace("\n", " ")
    flat = " ".join(shown.split())
    assert "long (10 rows) chosen longer in 100% of 10 pairs" in flat
    assert "short (10 rows) chosen longer in 0% of 10 pairs" in flat
    assert "empty or whitespace answers: none" in shown


@pytest.mark.anyio
async def test_inspect_of_a_missing_or_broken_file_is_a_status_message(tmp_path: Path, settle, until, text_of) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="data")
    missing = tmp_path / "nowhere.jsonl"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await _submit(pilot, app, until, str(missing))
        status = app.screen.query_one("#data-status")
        await until(pilot, app, lambda: text_of(status).startswith("Cannot inspect"))
        assert type(app.screen).__name__ == "DataScreen"  # no crash, no report
        assert "nowhere.jsonl is not a file" in text_of(status)

        broken = tmp_path / "broken.jsonl"
        broken.write_text('{"prompt": "a", "chosen": "b"\n')
        await _submit(pilot, app, until, str(broken))
        await until(pilot, app, lambda: "not valid JSON" in text_of(status))
        assert text_of(status).startswith("Cannot inspect: ") and "broken.jsonl, line 1" in text_of(status)
        assert type(app.screen).__name__ == "DataScreen"


@pytest.mark.anyio
async def test_inspect_of_a_folder_says_to_use_the_cli(tmp_path: Path, settle, until, text_of) -> None:
    # A folder would be read with `datasets`, which the TUI never imports: the CLI reads those.
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="data")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await _submit(pilot, app, until, str(tmp_path))
        status = app.screen.query_one("#data-status")
        await until(pilot, app, lambda: text_of(status).startswith("Cannot inspect"))
        assert "is a folder" in text_of(status) and "reins data inspect" in text_of(status)
