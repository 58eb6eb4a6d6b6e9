"""The Reins Textual app and its factory: modes Recipes, Runs, Sweeps and Data, with Configure, Run, Compare and
Annotate pushed on top."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding

from tui.styles import LIVE

if TYPE_CHECKING:
    from textual.screen import Screen

QUIT_NOTE = "Quitting closes this window only: runs keep training in the background. Reopen `reins` to reattach."


def _screen_class(module: str, name: str) -> Any:
    # Screens are imported when first shown, so start-up only pays for the first one.
    import importlib

    return getattr(importlib.import_module(f"tui.screens.{module}"), name)


def _screen(module: str, name: str) -> Any:
    return _screen_class(module, name)()


# The modes' screens: (module in tui.screens, class).
MODE_SCREENS = {"recipes": ("recipes", "RecipesScreen"), "runs": ("runs", "RunsScreen"),
                "sweeps": ("sweeps", "SweepsScreen"), "data": ("data", "DataScreen")}


def _commands() -> Any:
    # The palette's provider is imported when the palette first opens, not at start-up.
    from tui.commands import ReinsCommands

    return ReinsCommands


@dataclass
class Settings:
    """What the app needs from outside: where runs live, where extra recipes are, a clock, the GPU size."""

    runs_dir: Path
    recipe_dirs: tuple[Path, ...] = ()
    gpu_memory_gib: float | None = None
    poll_s: float = 0.5
    refresh_s: float = 2.0
    # None: show no clock-dependent text (snapshot tests); otherwise a function returning "now".
    now: Callable[[], datetime] | None = field(default=lambda: datetime.now(timezone.utc))
    annotator: str | None = None  # who annotates (None: the login name, as engine.api.default_annotator says)
    annotate: str | None = None  # an annotation set to open at start (`reins data annotate`)


class ReinsApp(App[list[str]]):
    """Pick a recipe, see its VRAM, launch, watch live, browse and compare runs. Returns the ids still running."""

    CSS_PATH = "app.tcss"
    TITLE = "Reins"
    COMMANDS = App.COMMANDS | {lambda: _commands()}
    MODES = {mode: (lambda where=where: _screen(*where)) for mode, where in MODE_SCREENS.items()}
    BINDINGS = [
        Binding("1", "switch_mode('recipes')", "Recipes"),
        Binding("2", "switch_mode('runs')", "Runs"),
        Binding("3", "switch_mode('sweeps')", "Sweeps"),
        Binding("4", "switch_mode('data')", "Data"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(self, settings: Settings, start: str | None = None) -> None:
        self.first_mode = start if start in MODE_SCREENS else "runs"
        # The first screen is the default screen of a default mode named after it, not a MODES screen: Textual
        # starts a MODES screen with a CSS refresh and a second full layout before the app is ready (~70 ms). Its
        # mode joins MODES once the screen exists (on_mount), so 1, 2 and 3 come back to this very screen. Both are
        # read by App.__init__.
        self.DEFAULT_MODE = self.first_mode
        self.MODES = {mode: screen for mode, screen in ReinsApp.MODES.items() if mode != self.first_mode}
        # Each screen's own rules sit in its .tcss, read when it is first shown; a default screen is not shown that
        # way, so the app reads the first screen's file with its own.
        first = _screen_class(*MODE_SCREENS[self.first_mode])
        own = [Path("screens") / first.CSS_PATH] if first.CSS_PATH else []
        super().__init__(css_path=[self.CSS_PATH, *own])
        self.settings = settings
        self.start = start
        self.rows_cache: list[Any] | None = None  # the last Runs rows, so reopening Runs shows them at once
        self.prefetched = False

    def get_default_screen(self) -> Screen[Any]:
        return ReinsApp.MODES[self.first_mode]()

    def on_mount(self) -> None:
        self.add_mode(self.first_mode, ReinsApp.MODES[self.first_mode])
        if self.settings.annotate:
            self.open_annotate(self.settings.annotate)

    def prefetch_runs(self) -> None:
        """Read the store in the background while the user looks at recipes, once: Runs then opens with its rows
        already there. The Recipes screen asks once its own list is shown, so this thread competes neither with the
        first paint nor with the read of the recipes."""
        if self.start == "recipes" and not self.prefetched:
            self.prefetched = True
            self.run_worker(self._prefetch_runs, thread=True, group="prefetch")

    def _prefetch_runs(self) -> None:
        from engine import api
        from tui.display.rows import run_rows

        try:
            views = api.list_runs(self.settings.runs_dir)
        except OSError:
            return
        now = self.now()
        rows = run_rows(views, now)
        self.call_from_thread(self._cache_rows, rows)

    def _cache_rows(self, rows: list[Any]) -> None:
        if self.rows_cache is None:
            self.rows_cache = rows

    # -- actions reachable from every screen (and from the command palette) --------------------------------

    def action_help(self) -> None:
        from tui.screens.dialogs import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        from tui.screens.dialogs import ConfirmScreen

        live = self.running_ids()
        if not live:
            self.exit([])
            return
        message = (f"{len(live)} run{'s' if len(live) != 1 else ''} still training: "
                   f"{', '.join(live[:3])}{'…' if len(live) > 3 else ''}.\n\n{QUIT_NOTE}")

        def done(ok: bool | None) -> None:
            if ok:
                self.exit(live)

        self.push_screen(ConfirmScreen("Quit Reins?", message, yes="Quit (runs continue)"), done)

    def running_ids(self) -> list[str]:
        from engine import api

        try:
            views = api.list_runs(self.settings.runs_dir)
        except OSError:
            return []
        return [v.id for v in views if v.status in LIVE]

    def open_run(self, run_id: str) -> None:
        from tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def open_compare(self, run_ids: list[str]) -> None:
        from tui.screens.compare import CompareScreen

        if len(run_ids) < 2:
            self.notify("Select two or more runs to compare (space in the Runs table).", severity="warning")
            return
        self.push_screen(CompareScreen(run_ids))

    def open_sweeps(self, sweep_id: str | None = None) -> None:
        """Show the Sweeps screen, with `sweep_id` (when given) selected."""
        self.switch_mode("sweeps")
        while len(self.screen_stack) > 1:  # a run opened from a sweep earlier: back to the list itself
            self.pop_screen()
        if sweep_id:
            self.screen_stack[0].select(sweep_id)  # type: ignore[attr-defined]

    def open_annotate(self, set_id: str) -> None:
        """Annotate a set as this session's annotator, from the first item they have not handled."""
        from tui.screens.annotate import AnnotateScreen

        self.push_screen(AnnotateScreen(set_id, self.annotator()))

    def annotator(self) -> str:
        from engine import api

        return self.settings.annotator or api.default_annotator()

    def open_configure(self, recipe: str | Path) -> None:
        from tui.screens.configure import ConfigureScreen

        self.push_screen(ConfigureScreen(Path(recipe)))

    def now(self) -> datetime | None:
        return self.settings.now() if self.settings.now else None


def make_app(runs_dir: Path | str | None = None, recipe_dirs: tuple[Path, ...] | None = None,
             gpu_memory_gib: float | None = None, poll_s: float = 0.5, refresh_s: float = 2.0,
             now: Callable[[], datetime] | None | Any = ..., start: str | None = None,
             annotate: tuple[str, str] | None = None) -> ReinsApp:
    """The app, configured. Tests pass a temp `runs_dir`, `now=None` (no clock text) and a short `poll_s`;
    `annotate` (set id, annotator) opens the Annotate screen on that set at start."""
    from engine.paths import runs_dir as default_runs_dir

    if recipe_dirs is None:
        local = Path.cwd() / "recipes"
        recipe_dirs = (local,) if local.is_dir() else ()
    settings = Settings(runs_dir=default_runs_dir(runs_dir), recipe_dirs=tuple(recipe_dirs),
                        gpu_memory_gib=gpu_memory_gib, poll_s=poll_s, refresh_s=refresh_s)
    if now is not ...:
        settings.now = now
    if annotate:
        settings.annotate, settings.annotator = annotate
    return ReinsApp(settings, start=start)


def freeze_heap() -> None:
    """Take what start-up imported (Textual, Rich, the engine: most of the heap) out of the garbage collector's
    sight. A full collection otherwise walks all of it, ~90 ms, and one falls due while 1,000 Runs rows are built;
    after this it walks only what the app made since (~20 ms). Called once, by `main`, before the app runs."""
    import gc

    gc.freeze()


def main(runs_dir: Path | str | None = None, start: str | None = None,
         annotate: tuple[str, str] | None = None) -> None:
    """Run the TUI in this terminal; on exit, say which runs are still training. `annotate` (set id, annotator)
    opens straight on the Annotate screen."""
    app = make_app(runs_dir=runs_dir or os.environ.get("REINS_RUNS_DIR"), start=start, annotate=annotate)
    freeze_heap()
    live = app.run() or []
    if live:
        print(f"{len(live)} run(s) still training in the background: {', '.join(live)}")
        print("Reopen `reins` to reattach, or `reins watch <id>` to follow one.")
