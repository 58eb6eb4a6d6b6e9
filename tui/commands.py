"""Command palette entries: every action of the TUI by name, plus one entry per recipe and per recent run."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ReinsCommands(Provider):
    """Actions of the app and of the screen on top, recipes to configure, runs to open."""

    _cache: list[tuple[str, Callable[[], Any], str]] | None = None

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        # One palette opening = one provider: list recipes and runs once, not per keystroke.
        if self._cache is None:
            self._cache = self._build()
        return self._cache

    def _build(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: Any = self.app
        screen: Any = self.screen
        cmds: list[tuple[str, Callable[[], Any], str]] = [
            ("Go to Recipes", partial(app.switch_mode, "recipes"), "pick a recipe to configure and launch"),
            ("Go to Runs", partial(app.switch_mode, "runs"), "every run in the store"),
            ("Go to Sweeps", partial(app.switch_mode, "sweeps"), "grids of runs, ranked, charted by the swept value"),
            ("Go to Data", partial(app.switch_mode, "data"), "annotation sets: decide between answers, export pairs"),
            ("Help: keys", app.action_help, "every key of every screen"),
            ("Quit (runs keep training)", app.action_quit_app, "closes the TUI only"),
        ]
        for name, action, help_text in getattr(screen, "PALETTE", ()):
            cmds.append((name, partial(screen.run_action, action), help_text))
        try:
            from engine import api

            for info in api.list_recipes():
                cmds.append((f"New run from recipe: {info.name}", partial(app.open_configure, info.path),
                             info.description))
            for view in api.list_runs(app.settings.runs_dir)[:30]:
                cmds.append((f"Open run: {view.id}", partial(app.open_run, view.id), view.status))
        except Exception:  # noqa: BLE001 - a broken store must not break the palette
            pass
        return cmds

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
