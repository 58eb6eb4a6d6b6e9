"""Configure: a form generated from the recipe schema, a VRAM panel that re-estimates as you edit, and Launch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Collapsible, Footer, Header, Input, Label, Select, Static, Switch

from tui.display.form import FieldSpec, display_value, field_for_problem, form_fields, override_text, value_at
from tui.display.recipes import display_path
from tui.widgets.vram import VramPanel


def _wid(key: str) -> str:
    return "w-" + key.replace(".", "--").replace("_", "-")


class ConfigureScreen(Screen[None]):
    """Edit a recipe's settings as `--set` overrides; Launch makes the same call as `reins run`."""

    CSS_PATH = "configure.tcss"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+l", "launch", "Launch", priority=True),
        Binding("ctrl+r", "reset", "Reset form"),
    ]
    PALETTE = [
        ("Configure: launch this run", "launch", "the same call as `reins run RECIPE --set …`"),
        ("Configure: reset the form", "reset", "back to the recipe's own values"),
    ]

    def __init__(self, recipe_path: Path) -> None:
        super().__init__()
        self.recipe_path = Path(recipe_path)
        self.specs: list[FieldSpec] = []
        self.baseline: dict[str, Any] = {}
        self.key_set: frozenset[str] = frozenset()
        self.lora_default: dict[str, Any] = {}
        self.overrides: list[str] = []
        self.problems: list[str] = []
        self.estimate: dict[str, Any] | None = None
        self.load_error: str | None = None

    # -- building the form -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from engine.errors import ReinsError
        from engine.recipe.loading import load_recipe
        from engine.recipe.schema import LoraSection

        yield Header()
        try:
            loaded = load_recipe(self.recipe_path)
        except ReinsError as exc:
            self.load_error = str(exc)
            yield Static(f"Cannot open {self.recipe_path}:\n{exc}", id="configure-load-error")
            yield Footer()
            return
        recipe = loaded.recipe
        self.baseline = recipe.model_dump(mode="json")
        self.lora_default = LoraSection().model_dump(mode="json")
        self.specs = form_fields(recipe)
        self.key_set = _key_set(recipe.method.name)
        with Horizontal(id="configure-body"):
            with VerticalScroll(id="form"):
                where = display_path(self.recipe_path)
                yield Static(f"[b]{loaded.name}[/b]  [dim]{recipe.method.name} · {where}[/dim]\n"
                             f"{recipe.description}", id="configure-title")
                yield Static(id="configure-errors")
                yield Label("[b]key settings[/b]", classes="section-title")
                yield self._lora_switch(recipe.lora is not None)
                key_specs = [s for s in self.specs if s.key in self.key_set]
                for spec in key_specs:
                    yield self._field(spec)
                with Collapsible(title="All settings", collapsed=True, id="all-settings"):
                    section = None
                    for spec in self.specs:
                        if spec.key in self.key_set:
                            continue
                        if spec.section != section:
                            section = spec.section
                            yield Label(f"[b]{section}[/b]", classes="section-title")
                        yield self._field(spec)
            yield VramPanel(id="vram-panel")
        with Horizontal(id="launch-bar"):
            yield Input(placeholder="run name (optional)", id="run-name")
            yield Input(placeholder="GPU GiB (detected)", id="gpu-gib", type="number")
            yield Button("Launch ^l", variant="success", id="launch")
        yield Footer()

    def _lora_switch(self, on: bool) -> Vertical:
        return Vertical(
            Label("lora (on/off)", classes="field-label"),
            Switch(value=on, id="w-lora-enabled"),
            Static("LoRA adapters; off = full fine-tuning (every parameter trains, far more memory).",
                   classes="field-help"),
            classes="field",
        )

    def _field(self, spec: FieldSpec) -> Vertical:
        current = self._baseline_value(spec)
        shown = display_value(spec, current)
        wid = _wid(spec.key)
        if spec.kind == "select":
            widget: Any = Select([(c, c) for c in spec.choices], value=shown, allow_blank=False, id=wid)
        elif spec.kind == "switch":
            widget = Switch(value=shown, id=wid)
        else:
            placeholder = "blank = unset" if spec.optional else ""
            widget = Input(value=shown, id=wid, placeholder=placeholder)
        widget.tooltip = spec.help
        return Vertical(
            Label(spec.key, classes="field-label"),
            widget,
            Static("", classes="field-error", id=f"err-{wid}"),
            Static(spec.help, classes="field-help", markup=False),
            classes="field",
        )

    def _baseline_value(self, spec: FieldSpec) -> Any:
        if spec.section == "lora" and self.baseline.get("lora") is None:
            return self.lora_default.get(spec.name)
        return value_at(self.baseline, spec.key)

    def on_mount(self) -> None:
        self.sub_title = "Configure"
        if self.load_error:
            return
        self._sync_lora_enabled()
        self.recompute()

    # -- reading the form ----------------------------------------------------------------------------------

    def widget_value(self, spec: FieldSpec) -> Any:
        widget: Any = self.query_one(f"#{_wid(spec.key)}")
        return widget.value

    def lora_enabled(self) -> bool:
        return bool(self.query_one("#w-lora-enabled", Switch).value)

    def current_overrides(self) -> list[str]:
        """The `--set` overrides that turn the recipe file into what the form shows."""
        out: list[str] = []
        lora_on, lora_was = self.lora_enabled(), self.baseline.get("lora") is not None
        if not lora_on and lora_was:
            out.append("lora=null")
        elif lora_on and not lora_was:
            out.append("lora={}")
        for spec in self.specs:
            if spec.section == "lora" and not lora_on:
                continue
            now = override_text(spec, self.widget_value(spec))
            before = override_text(spec, display_value(spec, self._baseline_value(spec)))
            if now != before:
                out.append(f"{spec.key}={now}")
        return out

    def gpu_gib(self) -> float | None:
        text = self.query_one("#gpu-gib", Input).value.strip()
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def _sync_lora_enabled(self) -> None:
        on = self.lora_enabled()
        for spec in self.specs:
            if spec.section == "lora":
                self.query_one(f"#{_wid(spec.key)}").disabled = not on

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _edited(self, event: Any) -> None:
        if self.load_error or getattr(event, "input", None) is self.query_one("#run-name"):
            return
        if isinstance(event, Switch.Changed) and event.switch.id == "w-lora-enabled":
            self._sync_lora_enabled()
        self.recompute()

    def recompute(self) -> None:
        self.overrides = self.current_overrides()
        self._estimate(list(self.overrides), self.gpu_gib())

    @work(thread=True, exclusive=True, group="estimate")
    def _estimate(self, overrides: list[str], gpu: float | None) -> None:
        from engine import api
        from engine.errors import ReinsError

        app: Any = self.app
        problems: list[str] = []
        warnings: list[str] = []
        est = None
        error = None
        try:
            loaded = api.validate_recipe(self.recipe_path, overrides, check_files=False)
            warnings = api.recipe_warnings(loaded, app.settings.runs_dir)
            est = api.estimate_recipe(self.recipe_path, overrides, gpu or app.settings.gpu_memory_gib).to_dict()
        except ReinsError as exc:
            problems = exc.problems or [exc.message]
            error = "fix the highlighted settings to see the estimate"
        except (KeyError, ValueError, TypeError) as exc:  # an architecture the estimator can't read
            error = f"no estimate: {exc}"
        app.call_from_thread(self.show_result, overrides, problems, est, error, warnings)

    def show_result(self, overrides: list[str], problems: list[str], est: dict[str, Any] | None,
                    error: str | None, warnings: list[str] | None = None) -> None:
        if overrides != self.overrides:
            return  # a newer edit is being estimated
        self.problems, self.estimate = problems, est
        keys = [s.key for s in self.specs]
        by_field: dict[str, list[str]] = {}
        general: list[str] = []
        for p in problems:
            key = field_for_problem(p, keys)
            (by_field.setdefault(key, []) if key else general).append(p)
        for spec in self.specs:
            err = self.query_one(f"#err-{_wid(spec.key)}", Static)
            msgs = by_field.get(spec.key, [])
            err.update("✖ " + "; ".join(m.split(":", 1)[-1].strip() for m in msgs) if msgs else "")
            err.set_class(bool(msgs), "shown")
        if by_field:
            first = next(s for s in self.specs if s.key in by_field)
            if first.key not in self.key_set:
                self.query_one("#all-settings", Collapsible).collapsed = False
        box = self.query_one("#configure-errors", Static)
        # Warnings (e.g. trust_remote_code on, data truncated) sit with the errors but never block a launch.
        box.update("\n".join([f"✖ {p}" for p in general] + [f"⚠ {w}" for w in warnings or []]))
        box.set_class(bool(general or warnings), "shown")
        self.query_one(VramPanel).show(est, error=error)

    # -- actions -------------------------------------------------------------------------------------------

    def action_reset(self) -> None:
        self.app.pop_screen()
        self.app.open_configure(self.recipe_path)  # type: ignore[attr-defined]

    @on(Button.Pressed, "#launch")
    def _launch_pressed(self) -> None:
        self.action_launch()

    def action_launch(self) -> None:
        if self.load_error:
            return
        if self.problems:
            self.notify("Fix the settings marked ✖ first.", severity="error")
            return
        name = self.query_one("#run-name", Input).value.strip() or None
        self.query_one("#launch", Button).disabled = True
        self._launch(list(self.current_overrides()), name, self.gpu_gib())

    @work(thread=True, exclusive=True, group="launch")
    def _launch(self, overrides: list[str], name: str | None, gpu: float | None) -> None:
        from engine import api
        from engine.errors import ReinsError

        app: Any = self.app
        try:
            view = api.launch(self.recipe_path, overrides, name=name, runs_dir=app.settings.runs_dir,
                              gpu_memory_gib=gpu or app.settings.gpu_memory_gib)
        except ReinsError as exc:
            app.call_from_thread(self._launch_failed, str(exc))
            return
        app.call_from_thread(self._launched, view)

    def _launch_failed(self, message: str) -> None:
        self.query_one("#launch", Button).disabled = False
        box = self.query_one("#configure-errors", Static)
        box.update(f"✖ launch refused: {message}")
        box.set_class(True, "shown")
        self.notify(message, title="Launch refused", severity="error", timeout=10)

    def _launched(self, view: Any) -> None:
        app: Any = self.app
        app.notify(f"Launched {view.id}: it runs detached, quitting the TUI won't stop it.")
        app.pop_screen()
        app.open_run(view.id)


def _key_set(method: str | None) -> frozenset[str]:
    from tui.display.form import key_fields

    return frozenset(key_fields(method))
