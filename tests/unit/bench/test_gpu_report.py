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


def test_speed_table_compares_each_point_with_its_baseline(gr: ModuleType) -> None:
    def speed(pid: str, runner: str, s: float, batch: int = 8, **kw: object) -> dict:
        return row(gr, pid, "dpo", 1.0, None, role="speed", runner=runner, s_per_step=s, batch=batch, **kw)

    rows = [speed("speed-plain", "plain", 2.0), speed("speed-reins", "reins", 2.1, mfu=0.31),
            speed("speed-plain-liger", "plain", 1.5, liger=True), speed("speed-reins-liger", "reins", 1.6, liger=True),
            speed("speed-reins-b2", "reins", 1.0, batch=2), speed("speed-reins-b2-eager", "reins", 1.25, batch=2,
                                                                  attn="eager")]
    lines = {line.split(" |")[0][2:]: line for line in gr.speed_section(rows) if line.startswith("| speed")}
    assert lines["speed-reins"].endswith("| 0.310 | – | 1.050 (speed-plain) |")
    assert lines["speed-reins-liger"].endswith("| 1.067 (speed-plain-liger) |")
    assert lines["speed-reins-b2-eager"].endswith("| 1.250 (speed-reins-b2) |")
    assert lines["speed-plain-liger"].endswith("| 0.750 (speed-plain) |")  # Liger's own effect on plain TRL
    assert lines["speed-plain"].endswith("| – |")  # the baseline
    assert lines["speed-reins-b2"].endswith("| – |")  # the batch-2 baseline


def test_oom_verdict_wants_failed_with_the_estimate_and_fixes(gc: ModuleType) -> None:
    oom_verdict = gc.oom_verdict
    msg = ("Out of memory (OOM: OutOfMemoryError: CUDA out of memory) after step 0. It was launched with an "
           "estimated peak of 1226.30 GiB per GPU against a 139.8 GiB GPU (verdict: does not fit); see "
           "estimate.json. The estimator suggests: gradient checkpointing (saves 300 GiB: --set x=y).")
    assert oom_verdict("failed", msg).startswith("OOM path as promised")
    assert "NOT" in oom_verdict("completed", "")
    assert "NOT" in oom_verdict("failed", "RuntimeError: something else")


def test_paths_section_reports_each_path_nvml_and_the_context_gap(gr: ModuleType) -> None:
    rows = [row(gr, "path-oom", "sft", 1000.0, None, role="path", status="failed", expect="failed",
                note="OOM path as promised (failed, estimate and fixes named)"),
            row(gr, "path-posteval-bf16", "dpo", 20.0, 19.0, role="path", posteval_s=41.5, nvml_peak_used_gib=20.1),
            row(gr, "g", "dpo", 10.0, 9.0, nvml_peak_used_gib=10.3)]
    env = {"nvml": [{"name": "NVIDIA H200", "total_gib": 139.8, "used_gib": 0.6}]}
    text = "\n".join(gr.paths_section(rows, env))
    assert "- **path-oom**: failed (expected failed). OOM path as promised" in text
    assert "- **path-posteval-bf16**: completed (expected completed), post-training evaluation 41.5 s." in text
    assert "NVIDIA H200, 139.8 GiB total, 0.6 GiB used before the first run" in text
    assert "median 1.20 GiB over 2 runs" in text  # (20.1 − 19) and (10.3 − 9)
