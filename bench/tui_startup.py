"""TUI start-up figures: time from process start to the first painted screen, against an empty Textual app, and
time to open the Runs screen with 1,000 runs in the store (cold: no index yet; warm: index up to date). Prints
figures, asserts nothing.

    python bench/tui_startup.py [--runs 1000] [--repeat 3] [--paints 5] [--first-paint-only]

Targets: first paint < 1 s and at most 1.3× an empty Textual app (issues 6, 12); Runs with 1,000 runs < 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A child interpreter: imports the app, runs it headless and reports when the first screen has been painted.
FIRST_PAINT = r"""
import sys, time, json, asyncio
t0 = float(sys.argv[1])
if sys.argv[3] == "baseline":  # an empty Textual app: the floor Textual itself sets on this machine
    from textual.app import App
    from textual.widgets import Static
    class Empty(App):
        def compose(self):
            yield Static("hello")
    app = Empty()
else:  # what `reins` does before it runs the app (tui.app.main)
    from tui.app import freeze_heap, make_app
    app = make_app(runs_dir=sys.argv[2], start="recipes", now=None)
    freeze_heap()
async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        # call_after_refresh fires once the screen has been composed, laid out and painted.
        painted = asyncio.get_running_loop().create_future()
        app.call_after_refresh(lambda: painted.set_result(time.time()))
        t = await painted
        print(json.dumps({"first_paint_s": t - t0, "import_s": t_import - t0}))
t_import = time.time()
asyncio.run(main())
"""


def first_paint(runs_dir: Path, which: str = "reins") -> dict[str, float]:
    """One fresh interpreter: seconds from its start to the first painted screen of Reins or of an empty app."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", FIRST_PAINT, str(t0), str(runs_dir), which], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def paint_ratio(runs_dir: Path, pairs: int) -> tuple[float, list[dict[str, float]], list[float]]:
    """Reins' first paint over an empty app's, as the median of `pairs` ratios: Reins and the empty app alternate,
    so both see the same machine load (this machine is shared: back-to-back series drift apart)."""
    reins, empty = [], []
    for _ in range(pairs):
        reins.append(first_paint(runs_dir))
        empty.append(first_paint(runs_dir, "baseline")["first_paint_s"])
    ratios = [r["first_paint_s"] / e for r, e in zip(reins, empty, strict=True)]
    return statistics.median(ratios), reins, empty


async def open_runs(runs_dir: Path, expected: int, direct: bool = False, freeze: bool = True) -> tuple[float, float]:
    """Seconds from asking for the Runs screen to the end of the first screen refresh that (a) drew rows, (b) drew
    with every row in the table. `direct`: the app starts on Runs (what `reins` does) with no row cached, timed
    from the app's start (imports excluded), so the store is read and every row built while the user waits."""
    from textual.screen import Screen

    import tui.display.rows
    from tui.app import freeze_heap, make_app

    # Screen refreshes are timed at the compositor: a callback registered on seeing rows fires only after the *next*
    # refresh, which overstated these figures by one repaint. Nothing polls meanwhile: a loop waking every few ms
    # takes the GIL from the thread that reads the store and slowed it down threefold.
    refreshes: list[tuple[float, int]] = []
    done = asyncio.Event()
    original = Screen._compositor_refresh

    def timed(screen: Screen) -> None:
        tables = screen.query("DataTable") if type(screen).__name__ == "RunsScreen" else []
        rows = tables.first().row_count if tables else 0
        original(screen)
        refreshes.append((time.perf_counter(), rows))
        if rows >= expected:
            done.set()

    Screen._compositor_refresh = timed  # type: ignore[method-assign]
    try:
        if direct:
            # A fresh process has read no estimate.json or recipe.yaml yet.
            tui.display.rows._ESTIMATES.clear()
            tui.display.rows._SETTINGS.clear()
            t0 = time.perf_counter()
            app = make_app(runs_dir=runs_dir, start="runs", now=None, refresh_s=3600)
            if freeze:
                freeze_heap()  # as `reins` (tui.app.main) does before running the app
            async with app.run_test(size=(120, 40)):
                await done.wait()
        else:
            app = make_app(runs_dir=runs_dir, start="recipes", now=None, refresh_s=3600)
            if freeze:
                freeze_heap()
            async with app.run_test(size=(120, 40)) as pilot:
                # The user looks at Recipes first; the app reads the store meanwhile (its prefetch), then `2`.
                while app.rows_cache is None:
                    await pilot.pause(0.05)
                refreshes.clear()
                t0 = time.perf_counter()
                app.switch_mode("runs")
                await done.wait()
    finally:
        Screen._compositor_refresh = original  # type: ignore[method-assign]
    first = next(t for t, rows in refreshes if t > t0 and rows)
    every = next(t for t, rows in refreshes if t > t0 and rows >= expected)
    return first - t0, every - t0


def tui_test_writers() -> Any:
    """tests/tui/conftest.py as a module, for its run-directory writers (the tests are no package to import from)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tui_test_fixtures", ROOT / "tests" / "tui" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_store(root: Path, n: int) -> None:
    write_run = tui_test_writers().write_run
    for i in range(n):
        write_run(root, f"20260921-{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}-bench-{i}", steps=20,
                  alerts=i % 3, beta=0.1 + (i % 5) / 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paints", type=int, default=5, help="Reins / empty app pairs of first paints")
    parser.add_argument("--first-paint-only", action="store_true", help="skip the Runs-screen figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ratio, paints, floor = paint_ratio(Path(tmp) / "empty", args.paints)
        fp = [p["first_paint_s"] for p in paints]
        print(f"first paint, Reins / empty Textual app: median ratio {ratio:.2f}× over {args.paints} alternating "
              f"pairs   target ≤ 1.3×")
        print(f"  Reins (process start → Recipes painted): median {statistics.median(fp) * 1000:.0f} ms "
              f"(runs: {', '.join(f'{x * 1000:.0f}' for x in fp)}; "
              f"imports {statistics.median(p['import_s'] for p in paints) * 1000:.0f} ms)   target < 1 s")
        print(f"  empty Textual app on this machine: median {statistics.median(floor) * 1000:.0f} ms "
              f"(runs: {', '.join(f'{x * 1000:.0f}' for x in floor)})")
        if args.first_paint_only:
            return
        runs = Path(tmp) / "runs"
        t = time.perf_counter()
        make_store(runs, args.runs)
        print(f"wrote {args.runs} run directories in {time.perf_counter() - t:.1f}s")
        cold = asyncio.run(open_runs(runs, args.runs))  # the first listing builds runs/index.json
        warm = [asyncio.run(open_runs(runs, args.runs)) for _ in range(args.repeat)]
        unfrozen = [asyncio.run(open_runs(runs, args.runs, direct=True, freeze=False)) for _ in range(args.repeat)]
        direct = [asyncio.run(open_runs(runs, args.runs, direct=True)) for _ in range(args.repeat)]
        load = os.getloadavg()[0]
    print(f"open Runs with {args.runs} runs, cold index (builds runs/index.json): first rows painted {cold[0]:.3f}s, "
          f"all rows {cold[1]:.3f}s")
    print(f"open Runs with {args.runs} runs, warm index: first rows painted median "
          f"{statistics.median(w[0] for w in warm):.3f}s, all rows median {statistics.median(w[1] for w in warm):.3f}s "
          f"(runs: {', '.join(f'{a:.3f}/{b:.3f}' for a, b in warm)})   target < 0.5 s")
    print(f"start the app on Runs with {args.runs} runs (no prefetch; store read, rows built, imports excluded): "
          f"first rows painted median {statistics.median(d[0] for d in direct):.3f}s, all rows median "
          f"{statistics.median(d[1] for d in direct):.3f}s (runs: {', '.join(f'{a:.3f}/{b:.3f}' for a, b in direct)})")
    print(f"  the same without freezing the start-up heap (gc.freeze): all rows median "
          f"{statistics.median(d[1] for d in unfrozen):.3f}s (runs: {', '.join(f'{d[1]:.3f}' for d in unfrozen)})")
    print(f"load average during the bench: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
