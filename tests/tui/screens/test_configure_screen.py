"""The Configure screen: edits become `--set` overrides, recipe-level errors and warnings are shown, not swallowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.paths import BUNDLED_RECIPES
from tui.app import make_app


async def configure_dpo(pilot, app, settle, until):  # noqa: ANN001, ANN201
    """Open Configure on the bundled DPO recipe and wait for its first VRAM estimate; returns the screen."""
    await settle(pilot, app)
    app.open_configure(BUNDLED_RECIPES / "dpo.yaml")
    await settle(pilot, app)
    screen = app.screen
    await until(pilot, app, lambda: screen.estimate is not None)
    return screen


@pytest.mark.anyio
async def test_lora_off_and_quantization_become_overrides(tmp_path: Path, settle, until, text_of) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app, settle, until)
        trainable = screen.estimate["trainable_params"]
        screen.query_one("#w-lora-enabled").value = False
        await until(pilot, app,
                    lambda: screen.estimate is not None and screen.estimate["trainable_params"] != trainable)
        assert screen.overrides == ["lora=null"]
        assert screen.query_one("#w-lora--r").disabled
        screen.query_one("#w-model--quantization").value = "4bit"
        # Quantization without LoRA is a recipe-level error: shown in the error box, not swallowed.
        await until(pilot, app, lambda: bool(screen.problems))
        assert "quantized" in text_of(screen.query_one("#configure-errors"))


@pytest.mark.anyio
async def test_trust_remote_code_shows_a_warning_in_configure(tmp_path: Path, settle, until, text_of) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app, settle, until)
        assert "trust_remote_code" not in text_of(screen.query_one("#configure-errors"))
        screen.query_one("#w-model--trust-remote-code").value = True
        await until(pilot, app, lambda: "model.trust_remote_code=true" in screen.overrides
                    and "trust_remote_code is on" in text_of(screen.query_one("#configure-errors")))
        assert not screen.problems  # a warning, not an error: launching stays possible


@pytest.mark.anyio
async def test_a_comma_list_makes_a_sweep_and_bad_values_say_why(tmp_path: Path, settle, until, text_of) -> None:
    app = make_app(runs_dir=tmp_path / "runs", now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app, settle, until)
        beta = screen.query_one("#w-method--beta")
        beta.value = "0.05, 0.1,0.5"
        sweep_line = screen.query_one("#configure-sweep")
        await until(pilot, app, lambda: screen.sweep_members is not None)
        assert screen.grid == ["method.beta=0.05,0.1,0.5"] and screen.overrides == []  # a grid item, not a --set
        assert "3 runs · " in text_of(sweep_line) and "GiB each" in text_of(sweep_line)
        assert beta.has_class("sweep") and "Sweep" in str(screen.query_one("#launch").label)

        beta.value = "0.05,abc"  # the engine's own message, under the field
        await until(pilot, app, lambda: bool(screen.sweep_problems))
        error = text_of(screen.query_one("#err-w-method--beta"))
        assert "beta=abc" in error and "valid number" in error
        assert "fix the values" in text_of(sweep_line)
        await pilot.press("ctrl+l")  # refused while a value is wrong
        await settle(pilot, app)
        assert not (tmp_path / "runs" / "sweeps").exists()

        beta.value = "0.1"  # one value again: one run, no sweep line, no error
        await until(pilot, app, lambda: not screen.grid and not screen.sweep_problems and screen.estimate is not None)
        assert text_of(screen.query_one("#err-w-method--beta")).strip() == ""
        assert not sweep_line.has_class("shown") and not beta.has_class("sweep")


@pytest.mark.anyio
async def test_launching_a_sweep_queues_it_and_shows_it(tmp_path: Path, fake_runs, settle, until) -> None:  # noqa: ANN001
    runs = tmp_path / "runs"
    fake_runs.pause_queue(runs)  # the members stay queued: no scheduler, no training
    app = make_app(runs_dir=runs, now=None, start="recipes", gpu_memory_gib=8.0, refresh_s=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await configure_dpo(pilot, app, settle, until)
        screen.query_one("#w-method--beta").value = "0.05,0.5"
        await until(pilot, app, lambda: screen.sweep_members is not None)
        await pilot.press("ctrl+l")
        await until(pilot, app, lambda: type(app.screen).__name__ == "SweepsScreen" and app.screen.loaded)
        (record,) = (runs / "sweeps").glob("*.json")
        assert app.screen.selected == record.stem
        assert app.screen.query_one("#sweep-members").row_count == 2
        queued = [r for r in app.screen.members if r.status == "queued"]
        assert [r.settings for r in queued] == [("0.05",), ("0.5",)]
