"""SVG snapshots of every screen at 80×24 and 120×40, fed by run directories the tests write (fixed timestamps).

Update after an intended change of the look: `pytest tests/tui/test_snapshots.py --snapshot-update`, then review
the SVGs under tests/tui/__snapshots__/.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tui.app import make_app

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(80, 24), (120, 40)]
RUN = "20260921-110000-dpo-beta03"


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths on screen are shown relative to the working folder: make it the same in every checkout.
    monkeypatch.chdir(ROOT)


async def _settle(pilot) -> None:
    for _ in range(4):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


def _app(fake_runs: SimpleNamespace, tmp_path: Path, start: str | None = "runs"):  # noqa: ANN202
    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    return make_app(runs_dir=runs, recipe_dirs=(), now=None, start=start, gpu_memory_gib=8.0, poll_s=0.05,
                    refresh_s=600)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_recipes(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    assert snap_compare(_app(fake_runs, tmp_path, "recipes"), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_configure(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_configure(ROOT / "recipes" / "dpo.yaml")
        await _settle(pilot)

    assert snap_compare(_app(fake_runs, tmp_path, "recipes"), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    assert snap_compare(_app(fake_runs, tmp_path), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run(RUN)
        await _settle(pilot)

    assert snap_compare(_app(fake_runs, tmp_path), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_alerts(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run(RUN)
        await _settle(pilot)
        await pilot.press("a")
        await _settle(pilot)

    assert snap_compare(_app(fake_runs, tmp_path), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_samples(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    app = _app(fake_runs, tmp_path)
    fake_runs.write_events(tmp_path / "runs" / RUN, fake_runs.sample_events(20), mode="a")

    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run(RUN)
        await _settle(pilot)
        await pilot.press("p", "down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_samples_marked(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    # A person marked #1 as the judge did and #2 against it: the disagreement stands out, the tab counts 1/2.
    app = _app(fake_runs, tmp_path)
    fake_runs.write_events(tmp_path / "runs" / RUN, fake_runs.sample_events(20), mode="a")

    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_run(RUN)
        await _settle(pilot)
        await pilot.press("p", "p", "down", "p")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        pilot.app.open_compare(["20260921-100000-dpo-beta01", RUN, "20260921-120000-ipo"])
        await _settle(pilot)

    assert snap_compare(_app(fake_runs, tmp_path), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    assert snap_compare(_app(fake_runs, tmp_path), terminal_size=size, press=["question_mark"], run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs_queued(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    # A live run on GPUs 0 and 1 and three queued runs, the last moved ahead of the second: `queued #1…#3`.
    from engine.runs.rundir import RunDir

    app = _app(fake_runs, tmp_path)
    runs = tmp_path / "runs"
    fake_runs.write_run(runs, "20260921-150000-dpo-live", live=True, steps=8)
    RunDir(runs / "20260921-150000-dpo-live").update(devices=[0, 1])
    for i, (name, seq) in enumerate((("beta05", 1), ("beta1", 3), ("beta2", 2))):
        fake_runs.write_queued(runs, f"20260921-16000{i}-{name}", seq=fake_runs.T0 + seq, beta=[0.5, 1.0, 2.0][i])
    assert snap_compare(app, terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sweeps(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    # The older sweep selected: β=0.1 marked best, members best first, the metric on a log β axis with whiskers.
    app = _app(fake_runs, tmp_path, "sweeps")
    fake_runs.write_demo_sweeps(tmp_path / "runs")

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


def _annotation_app(fake_runs: SimpleNamespace, tmp_path: Path, decided: int):  # noqa: ANN202
    """The Data screen over one 10-item set, with `decided` items decided by `ana` (the Annotate screen on top when
    `decided` is not None)."""
    import json

    from engine import api

    runs = tmp_path / "runs"
    fake_runs.write_store(runs)
    rows = [{"prompt": f"Question {i}: what is {i} plus {i}? Answer in one sentence.",
             "chosen": f"{i} plus {i} is {2 * i}.", "rejected": f"It is {2 * i + 1}, I think."} for i in range(1, 11)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found, _ = api.open_annotation_set(str(data), runs)
    session = api.annotation_session(found.id, "ana", runs)
    for i in range(decided):
        session.choose(i, "a")
    app = make_app(runs_dir=runs, recipe_dirs=(), now=None, start="data", gpu_memory_gib=8.0, poll_s=0.05,
                   refresh_s=600, annotate=(found.id, "ana"))
    return app


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_annotate(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    assert snap_compare(_annotation_app(fake_runs, tmp_path, 4), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_data(snap_compare, tmp_path: Path, size, fake_runs: SimpleNamespace) -> None:
    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("escape")
        await _settle(pilot)

    assert snap_compare(_annotation_app(fake_runs, tmp_path, 4), terminal_size=size, run_before=before)


def test_data_inspect(snap_compare, tmp_path: Path, fake_runs: SimpleNamespace,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The bundled pairs, inspected from the Data screen (`i`, enter keeps the default path); an empty model cache
    # counts lengths in words, the same on every machine.
    monkeypatch.setenv("REINS_CACHE_DIR", str(tmp_path / "cache"))

    async def before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await pilot.press("enter")
        for _ in range(40):
            await _settle(pilot)
            if type(pilot.app.screen).__name__ == "InspectScreen":
                break
        await _settle(pilot)

    assert snap_compare(_app(fake_runs, tmp_path, "data"), terminal_size=(80, 24), run_before=before)
