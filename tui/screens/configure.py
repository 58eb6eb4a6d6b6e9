"""Configure: a form generated from the recipe schema, a VRAM panel that re-estimates as you edit, and Launch; a
numeric field given a comma list (`0.05,0.1,0.5`) turns the launch into a sweep, queued run by run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Collapsible, Footer, Header, Input, Label, Select, Static, Switch

from tui.display.form import (
    FieldSpec,
    display_value,
    field_for_problem,
    first_value,
    form_fields,
    grid_item,
    override_text,
    sweep_field_for_problem,
    sweep_plan_text,
    sweep_text,
    value_at,
)
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
        ("Configure: launch this run", "launch", "the same call as `reins run RECIPE --set …` (a sweep: `reins "
         "sweep RECIPE --grid …`)"),
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
        # A sweep: `--grid` items from fields holding comma lists, what the engine plans for them, and its errors.
        self.grid: list[str] = []
        self.sweep_members: list[dict[str, Any]] | None = None
        self.sweep_problems: list[str] = []
        self._field_problems: dict[str, list[str]] = {}

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
        yield Static(id="configure-sweep")
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
            if spec.text_type == "number":
                placeholder = "a value, or v1,v2,… to sweep" + (" (blank = unset)" if spec.optional else "")
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
            if sweep_text(spec, self.widget_value(spec)) is not None:
                continue  # a sweep field: a grid item (current_grid), not an override
            now = override_text(spec, self.widget_value(spec))
            before = override_text(spec, display_value(spec, self._baseline_value(spec)))
            if now != before:
                out.append(f"{spec.key}={now}")
        return out

    def sweep_fields(self) -> dict[str, str]:
        """The fields that hold a comma list, each with its list: the sweep's grid."""
        lora_on = self.lora_enabled()
        out = {}
        for spec in self.specs:
            if spec.section == "lora" and not lora_on:
                continue
            text = sweep_text(spec, self.widget_value(spec))
            if text is not None:
                out[spec.key] = text
        return out

    def current_grid(self) -> list[str]:
        """The `--grid` items of the sweep the form describes (empty: one run)."""
        specs = {s.key: s for s in self.specs}
        return [grid_item(specs[key], text) for key, text in self.sweep_fields().items()]

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
        sweeps = self.sweep_fields()
        # The VRAM panel estimates the sweep's first member; the sweep line gives every member's need.
        firsts = [f"{key}={first_value(text)}" for key, text in sweeps.items()]
        self._estimate(list(self.overrides), self.gpu_gib(), firsts)
        grid = self.current_grid()
        for spec in self.specs:
            if spec.kind == "text":
                self.query_one(f"#{_wid(spec.key)}").set_class(spec.key in sweeps, "sweep")
        if grid != self.grid or not grid:
            self.grid, self.sweep_members, self.sweep_problems = grid, None, []
            self._show_sweep()
            self._show_field_errors()
        self.query_one("#launch", Button).label = "Sweep ^l" if grid else "Launch ^l"
        if grid:
            self._plan(list(self.overrides), list(grid))

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, overrides: list[str], grid: list[str]) -> None:
        from engine import api
        from engine.errors import ReinsError

        app: Any = self.app
        try:
            members = api.plan_sweep(str(self.recipe_path), grid=grid, overrides=overrides,
                                     runs_dir=app.settings.runs_dir)
        except ReinsError as exc:
            app.call_from_thread(self.show_plan, overrides, grid, None, exc.problems or [exc.message])
            return
        app.call_from_thread(self.show_plan, overrides, grid, members, [])

    def show_plan(self, overrides: list[str], grid: list[str], members: list[dict[str, Any]] | None,
                  problems: list[str]) -> None:
        if overrides != self.overrides or grid != self.grid:
            return  # a newer edit is being planned
        self.sweep_members, self.sweep_problems = members, problems
        self._show_sweep()
        self._show_field_errors()

    def _show_sweep(self) -> None:
        box = self.query_one("#configure-sweep", Static)
        box.set_class(bool(self.grid), "shown")
        box.set_class(bool(self.sweep_problems), "error")
        if not self.grid:
            box.update("")
            return
        keys = ", ".join(item.split("=", 1)[0] for item in self.grid)
        if self.sweep_problems:
            box.update(f"✖ sweep over {keys}: fix the values marked ✖")
        elif self.sweep_members is None:
            box.update(f"sweep over {keys}: checking every member…")
        else:
            box.update(f"sweep over {keys}: {sweep_plan_text(self.sweep_members)} · ^l queues them")

    @work(thread=True, exclusive=True, group="estimate")
    def _estimate(self, overrides: list[str], gpu: float | None, firsts: list[str] | None = None) -> None:
        from engine import api
        from engine.errors import ReinsError

        app: Any = self.app
        problems: list[str] = []
        warnings: list[str] = []
        est = None
        error = None
        try:
            full = [*overrides, *(firsts or [])]
            loaded = api.validate_recipe(self.recipe_path, full, check_files=False)
            warnings = api.recipe_warnings(loaded, app.settings.runs_dir)
            est = api.estimate_recipe(self.recipe_path, full, gpu or app.settings.gpu_memory_gib).to_dict()
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
        self._field_problems = {k: ["; ".join(m.split(":", 1)[-1].strip() for m in msgs)]
                                for k, msgs in by_field.items()}
        self._show_field_errors()
        box = self.query_one("#configure-errors", Static)
        # Warnings (e.g. trust_remote_code on, data truncated) sit with the errors but never block a launch.
        box.update("\n".join([f"✖ {p}" for p in general] + [f"⚠ {w}" for w in warnings or []]))
        box.set_class(bool(general or warnings), "shown")
        self.query_one(VramPanel).show(est, error=error)

    def _show_field_errors(self) -> None:
        """Each field's ✖ line: the estimate's problems with it, or, for a swept field, the sweep plan's (which
        checks every value, not only the first one the estimate sees)."""
        swept = self.sweep_fields() if self.grid else {}
        sweep_msgs: dict[str, list[str]] = {}
        for p in self.sweep_problems:
            key = sweep_field_for_problem(p, list(swept))
            sweep_msgs.setdefault(key or next(iter(swept), ""), []).append(p.removeprefix("--grid "))
        shown: list[str] = []
        for spec in self.specs:
            msgs = sweep_msgs.get(spec.key, []) if spec.key in swept else self._field_problems.get(spec.key, [])
            err = self.query_one(f"#err-{_wid(spec.key)}", Static)
            err.update("✖ " + "; ".join(msgs) if msgs else "")
            err.set_class(bool(msgs), "shown")
            if msgs:
                shown.append(spec.key)
        if shown and shown[0] not in self.key_set:
            self.query_one("#all-settings", Collapsible).collapsed = False

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
        if self.problems or self.sweep_problems:
            self.notify("Fix the settings marked ✖ first.", severity="error")
            return
        name = self.query_one("#run-name", Input).value.strip() or None
        grid = self.current_grid()
        if grid:
            self._confirm_sweep(list(self.current_overrides()), grid, name)
            return
        self.query_one("#launch", Button).disabled = True
        self._launch(list(self.current_overrides()), name, self.gpu_gib())

    def _confirm_sweep(self, overrides: list[str], grid: list[str], name: str | None) -> None:
        # The engine refuses more than 64 members unless told yes: the user is asked here instead of a flag.
        from engine.sweeps.spec import MAX_MEMBERS_WITHOUT_YES
        from tui.screens.dialogs import ConfirmScreen

        n = len(self.sweep_members or [])

        def answered(ok: bool | None) -> None:
            if ok:
                self.query_one("#launch", Button).disabled = True
                self._start_sweep(overrides, grid, name, n > MAX_MEMBERS_WITHOUT_YES)

        if n > MAX_MEMBERS_WITHOUT_YES:
            self.app.push_screen(ConfirmScreen(f"Queue {n} runs?", f"This sweep has {n} members: each is a run "
                                               "that waits in the queue for a GPU.", yes=f"Queue {n} runs"), answered)
        else:
            answered(True)

    @work(thread=True, exclusive=True, group="launch")
    def _start_sweep(self, overrides: list[str], grid: list[str], name: str | None, yes: bool) -> None:
        from engine import api
        from engine.errors import ReinsError

        app: Any = self.app
        try:
            record = api.start_sweep(str(self.recipe_path), grid=grid, overrides=overrides, name=name, yes=yes,
                                     runs_dir=app.settings.runs_dir)
        except ReinsError as exc:
            app.call_from_thread(self._launch_failed, str(exc))
            return
        app.call_from_thread(self._sweep_started, record)

    def _sweep_started(self, record: dict[str, Any]) -> None:
        app: Any = self.app
        n = len(record.get("members", []))
        app.notify(f"Queued sweep {record['id']}: {n} run{'s' if n != 1 else ''}, started as the GPUs allow; "
                   "quitting the TUI won't stop them.")
        app.pop_screen()
        app.open_sweeps(record["id"])

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
