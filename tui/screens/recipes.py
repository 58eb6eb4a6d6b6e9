"""Recipes: the bundled recipes (and any in ./recipes) grouped by stage, with what each does and when to use it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine.recipe.methods import STAGES, stage_of
from tui.display.recipes import display_path, recipe_header


class RecipesScreen(Screen[None]):
    """Pick a recipe; enter opens its Configure form."""

    SUB_TITLE = "Recipes"
    # Textual focuses the list as the screen is first shown: on_mount has nothing left to do before the first paint.
    AUTO_FOCUS = "#recipe-list"
    BINDINGS = [Binding("enter", "configure", "Configure", show=True)]
    PALETTE = [("Configure the highlighted recipe", "configure", "open its form with the VRAM panel")]

    def __init__(self) -> None:
        super().__init__()
        self.infos: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="recipes-body"):
            yield OptionList(id="recipe-list")
            with VerticalScroll(id="recipe-detail"):
                yield Static(id="recipe-info")
        yield Footer()

    def on_mount(self) -> None:
        # After the app's next refresh (at start-up: once the app is up and painted): the thread reading recipes
        # holds the GIL start-up needs.
        self.app.call_after_refresh(self.load)

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        # Reading recipes imports the schema (pydantic): off the UI thread, so the UI stays responsive.
        from engine.recipe.bundled import bundled_recipes

        app: Any = self.app
        infos = bundled_recipes(tuple(d for d in app.settings.recipe_dirs if d.is_dir()))
        app.call_from_thread(self.show, infos)

    def show(self, infos: list[Any]) -> None:
        self.infos = {i.name: i for i in infos}
        options: list[Option | None] = []
        order = [*STAGES, "Other"]
        for stage in order:
            members = [i for i in infos if stage_of(i.method) == stage]
            if not members:
                continue
            options.append(Option(Text(stage.upper(), style="bold"), disabled=True))
            for info in members:
                options.append(Option(Text.assemble(f"  {info.name}", (f"  {info.method}", "dim")), id=info.name))
        olist = self.query_one(OptionList)
        olist.add_options(options)
        first = next((i for i, o in enumerate(options) if o is not None and not o.disabled), None)
        if first is not None:
            olist.highlighted = first
        olist.focus()
        self.app.prefetch_runs()  # type: ignore[attr-defined]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        info = self.infos.get(event.option.id or "")
        if info is None:
            return
        body = Text()
        body.append(f"{info.name}", style="bold")
        body.append(f"   {info.method} · {stage_of(info.method)}\n\n", style="dim")
        body.append(info.description + "\n\n")
        for line in recipe_header(info.path):
            body.append(line + "\n", style="dim")
        body.append(f"\n{display_path(info.path)}\n", style="dim italic")
        body.append("\nenter: configure and see the VRAM it needs", style="bold")
        self.query_one("#recipe-info", Static).update(body)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def action_configure(self) -> None:
        olist = self.query_one(OptionList)
        if olist.highlighted is not None:
            self._open(olist.get_option_at_index(olist.highlighted).id)

    def _open(self, name: str | None) -> None:
        info = self.infos.get(name or "")
        if info is not None:
            app: Any = self.app
            app.open_configure(info.path)
