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
