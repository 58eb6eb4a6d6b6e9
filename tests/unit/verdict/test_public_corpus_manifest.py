"""The public-log corpus (tests/traces/public) is well-formed: every log is listed with its source and a reading.

This checks the shape of the corpus only; whether the rules agree with the labels is another test's business."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

PUBLIC = Path(__file__).resolve().parents[2] / "traces" / "public"
MANIFEST = json.loads((PUBLIC / "manifest.json").read_text())

VOCABULARY = {
    "loss_nonfinite", "accuracy_overfit", "rejected_logps_collapse", "chosen_rewards_falling", "logps_both_falling",
    "margins_not_growing", "eval_margin_divergence", "loss_flat", "grad_norm_spike", "kl_too_high", "kl_negative",
    "kl_at_start", "reward_hacking", "value_loss_diverging", "response_length_collapse", "response_length_pinned",
    "reward_zero_variance", "reward_flat",
}
METHODS = {"dpo", "ipo", "orpo", "simpo", "cpo", "kto", "grpo", "rloo", "ppo", "sft"}


def test_corpus_size_and_held_out_share() -> None:
    assert isinstance(MANIFEST, list) and len(MANIFEST) >= 18
    assert sum(1 for entry in MANIFEST if entry["held_out"] is True) >= 5


def test_every_log_file_is_in_the_manifest_once() -> None:
    listed = [entry["file"] for entry in MANIFEST]
    on_disk = {p.name for p in PUBLIC.glob("*.json")} - {"manifest.json"}
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_entry_is_well_formed(entry: dict) -> None:
    for key in ("repo", "path", "licence", "reading", "model"):
        assert isinstance(entry.get(key), str) and entry[key].strip(), key
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+", entry["repo"])
    assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
    assert entry["method"] in METHODS
    assert entry["trl_era"] in {"old keys", "new keys"}
    assert isinstance(entry["held_out"], bool)
    assert isinstance(entry["thinned"], dict) and isinstance(entry["thinned"].get("thinned"), bool)
    assert entry["verdict"] in {"healthy", "broken"}
    alerts = entry["expected_alerts"]
    assert isinstance(alerts, list) and set(alerts) <= VOCABULARY and len(alerts) == len(set(alerts))
    assert (alerts == []) == (entry["verdict"] == "healthy")


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_log_file_parses_and_holds_numbers(entry: dict) -> None:
    state = json.loads((PUBLIC / entry["file"]).read_text())  # json.loads accepts bare NaN / Infinity
    history = state["log_history"]
    assert isinstance(history, list) and history and all(isinstance(row, dict) and row for row in history)
    for row in history:
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row.values()), row
    assert all("step" in row for row in history)
    for key in ("max_steps", "train_batch_size", "num_train_epochs", "global_step"):
        assert key in state
