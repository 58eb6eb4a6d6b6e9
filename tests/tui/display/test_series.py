"""Chart series from recorded TRL traces: the tokens axis where TRL logs `num_tokens`, its absence said otherwise."""

from __future__ import annotations

from pathlib import Path

from tui.display.series import read_series

TRACES = Path(__file__).resolve().parents[2] / "traces"  # tests/traces


def test_a_dpo_trace_can_be_plotted_against_tokens_seen() -> None:
    series, _ = read_series(TRACES / "demo-dpo-embedded-20.jsonl")
    assert series.has_x("tokens")
    xs, ys = series.get("train", "loss", "tokens")
    steps, _ = series.get("train", "loss", "step")
    assert len(xs) == len(steps) == len(ys) > 10
    assert xs == sorted(xs) and xs[0] > 0  # TRL's running total of input tokens
    exs, _ = series.get("eval", "loss", "tokens")
    assert exs[0] == 0.0  # the eval before training


def test_a_ppo_trace_has_no_token_counts_to_plot() -> None:
    series, _ = read_series(TRACES / "ppo-healthy.jsonl")
    assert not series.has_x("tokens")
    assert series.get("train", "objective/kl", "tokens") == ([], [])
    assert series.get("train", "objective/kl", "step")[0]  # the step axis still has every point
