"""bench/gpu_report.py: the summary's error table, target line, speed ratios and the OOM path's verdict."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType


def row(gr: ModuleType, pid: str, method: str, est: float, reserved: float | None, **extra: object) -> dict:
    return {"id": pid, "role": "grid", "runner": "reins", "method": method, "mode": "lora", "size": "s", "batch": 4,
            "max_length": 512, "checkpointing": False, "liger": False, "precompute_ref": False, "attn": "auto",
            "precision": "bf16", "status": "completed", "estimate_allocator_gib": est,
            "measured_reserved_gib": reserved, "error_reserved_pct": gr.signed_error(est, reserved), **extra}


def test_signed_error_is_negative_for_an_under_estimate(gr: ModuleType) -> None:
    assert gr.signed_error(9.0, 10.0) == -10.0
    assert gr.signed_error(11.0, 10.0) == 10.0
    assert gr.signed_error(1.0, None) is None


def test_summary_reports_mean_and_worst_signed_error_per_method_and_the_target(gr: ModuleType, tmp_path: Path) -> None:
    rows = [row(gr, "a", "dpo", 11.0, 10.0), row(gr, "b", "dpo", 8.0, 10.0), row(gr, "c", "sft", 10.5, 10.0)]
    text = gr.summary_markdown(rows, {"gpu": "NVIDIA H200", "date": "2026-12-02"}, ["x: over the time budget"])
    assert "| dpo | 2 | 15.0 | -5.0 | 20.0 | -20.0 |" in text  # mean abs, mean signed, max abs, worst under
    assert "| sft | 1 | 5.0 | 5.0 | 5.0 | 0.0 |" in text
    assert "**not met**" in text and "worst under -20.0%" in text
    assert "- x: over the time budget" in text
    good = gr.summary_markdown([row(gr, "a", "dpo", 10.4, 10.0), row(gr, "c", "sft", 9.5, 10.0)], {}, [])
    assert "**met**" in good
    # the CSV keeps every row (the fit reads it back)
    gr.write_csv(rows, tmp_path / "r.csv")
    assert [r["id"] for r in gr.read_csv(tmp_path / "r.csv")] == ["a", "b", "c"]


def test_speed_table_gives_each_point_its_ratio_to_plain_trl(gr: ModuleType) -> None:
    plain = row(gr, "speed-plain", "dpo", 1.0, None, role="speed", runner="plain", s_per_step=2.0, tokens_per_s=8192)
    reins = row(gr, "speed-reins", "dpo", 1.0, None, role="speed", s_per_step=2.1, tokens_per_s=7800, mfu=0.31)
    text = "\n".join(gr.speed_section([plain, reins]))
    assert "| speed-reins | reins |" in text and "| 1.050 |" in text and "| 0.310 |" in text
    assert "| speed-plain | plain |" in text and "| 1.000 |" in text


def test_oom_verdict_wants_failed_with_the_estimate_and_fixes(gc: ModuleType) -> None:
    oom_verdict = gc.oom_verdict
    msg = ("Out of memory (OOM: OutOfMemoryError: CUDA out of memory) after step 0. It was launched with an "
           "estimated peak of 1226.30 GiB per GPU against a 139.8 GiB GPU (verdict: does not fit); see "
           "estimate.json. The estimator suggests: gradient checkpointing (saves 300 GiB: --set x=y).")
    assert oom_verdict("failed", msg).startswith("OOM path as promised")
    assert "NOT" in oom_verdict("completed", "")
    assert "NOT" in oom_verdict("failed", "RuntimeError: something else")
