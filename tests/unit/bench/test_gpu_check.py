"""bench/gpu_check.py's bookkeeping without a GPU: a run's figures, the budget (rescaled by what points took), MFU."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

OOM = ("Out of memory (OOM: OutOfMemoryError: CUDA out of memory. Tried to allocate 80 GiB) after step 0. It was "
       "launched with an estimated peak of 1226.30 GiB per GPU against a 139.8 GiB GPU (verdict: won't fit); see "
       "estimate.json. The estimator suggests: gradient checkpointing (saves 500.00 GiB: --set x=true).")


def test_run_figures_take_final_peaks_else_the_system_events_and_the_evaluation(gc: ModuleType) -> None:
    final = {"peak_mem_gb": 41.26, "peak_mem_allocated_gb": 38.01, "s_per_step": 0.81234}
    out = gc.run_figures("completed", final, [], None, "completed")
    assert out == {"status": "completed", "measured_reserved_gib": 41.26, "measured_allocated_gib": 38.01,
                   "s_per_step": 0.8123, "note": ""}
    evs = [{"kind": "system", "values": {"peak_mem_gb": 10.0, "peak_mem_allocated_gb": 9.0}},
           {"kind": "system", "values": {"peak_mem_gb": 12.5, "peak_mem_allocated_gb": 11.0}},
           {"kind": "evaluation", "values": {"seconds": 37.2, "timings": {"samples": 20.04, "probes": 15.0}}}]
    out = gc.run_figures("stopped", {}, evs, None, "completed", "stopped at the time budget")
    assert out["measured_reserved_gib"] == 12.5 and out["measured_allocated_gib"] == 11.0
    assert out["posteval_s"] == 37.2
    assert out["note"] == "stopped at the time budget post-training evaluation: samples 20.0 s, probes 15.0 s"


def test_run_figures_judge_the_oom_path(gc: ModuleType) -> None:
    out = gc.run_figures("failed", {}, [], OOM, "failed")
    assert out["note"].startswith("OOM path as promised") and "1226.30 GiB" in out["note"]
    assert gc.run_figures("completed", {}, [], None, "failed")["note"].startswith("OOM path NOT as promised")
    plain_failure = gc.run_figures("failed", {}, [], "ValueError: bad data", "completed")
    assert plain_failure["note"] == "ValueError: bad data"


def test_preflight_names_requirements_the_image_breaks(gc: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    declared = {"datasets": ["pyarrow>=24.0.0", "fsspec<=2026.9.0,>=2023.1.0", "pytest; extra == 'tests'",
                             "winreg-only; sys_platform == 'win32'", "dill<0.4.2"]}
    installed = {"datasets": "5.2.0", "pyarrow": "23.0.1", "fsspec": "2026.9.0"}

    def requires(name: str) -> list[str]:
        if name not in declared:
            raise gc.metadata.PackageNotFoundError(name)
        return declared[name]

    def version(name: str) -> str:
        if name not in installed:
            raise gc.metadata.PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(gc.metadata, "requires", requires)
    monkeypatch.setattr(gc.metadata, "version", version)
    problems, missing = gc.requirement_problems(("datasets", "liger-kernel"))
    assert problems == ["datasets needs pyarrow>=24.0.0: pyarrow 23.0.1 is installed",
                        "datasets needs dill<0.4.2: not installed"]
    assert missing == ["liger-kernel"]


@pytest.fixture
def fake_check(gc: ModuleType) -> type:
    class FakeCheck(gc.Check):
        """Runs nothing: each point 'takes' `factor` × its expected seconds on a fake clock."""

        def __init__(self, *args: Any, factor: float, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.clock, self.factor, self.ran, self.expected = 0.0, factor, [], {}

        def elapsed(self) -> float:
            return self.clock

        def model(self, size: str) -> Path:
            return self.work / "models" / size

        def reins(self, p: Any, model_dir: Path, data: Path, timeout_s: float) -> dict[str, Any]:
            self.ran.append(p.id)
            self.clock += self.factor * self.expected[p.id]
            return {"status": "completed", "measured_reserved_gib": 2.0, "s_per_step": 0.5}

    return FakeCheck


def fake_plan(gp: ModuleType, seconds: list[float]) -> Any:
    est = gp.estimate_point(gp.smoke_plan().items[0].point, None)
    items = [gp.Planned(gp.Point(f"p{i}", "speed", "dpo", "lora", "qwen2.5-1.5b", 8, 1024), est, s)
             for i, s in enumerate(seconds)]
    return gp.Plan(items, {"qwen2.5-1.5b": 0.0}, budget_s=300.0, gpu_gib=gp.H200_GIB)


@pytest.mark.parametrize("factor, ran", [(1.0, ["p0", "p1", "p2"]), (2.0, ["p0", "p2"])])
def test_points_that_would_overrun_the_budget_are_skipped_after_rescaling(gc: ModuleType, gp: ModuleType,
                                                                          gr: ModuleType, fake_check: type,
                                                                          tmp_path: Path, factor: float,
                                                                          ran: list[str]) -> None:
    plan = fake_plan(gp, [100.0, 100.0, 20.0])
    (tmp_path / "out").mkdir()
    check = fake_check(tmp_path / "out", tmp_path / "work", None, 250.0, "cuda", {"gpu": "NVIDIA H200"},
                      factor=factor)
    check.expected = {pl.point.id: pl.seconds for pl in plan.items}
    check.run(plan)
    assert check.ran == ran
    if factor == 2.0:  # after p0 took twice its estimate, p1 is expected to need 200 s with 50 s left
        assert check.skipped == ["p1: expected 200 s, 50 s left"]
    rows = gr.read_csv(tmp_path / "out" / "gpu_check.csv")
    assert [r["id"] for r in rows] == ran
    first = rows[0]
    assert float(first["tokens_per_s"]) == 8 * 2 * 1024 / 0.5
    n = gp.params_b("qwen2.5-1.5b") * 1e9
    assert float(first["mfu"]) == pytest.approx(6 * n * 8 * 2 * 1024 / 0.5 / gc.DENSE_BF16_PEAK["H200"], abs=1e-4)
    assert float(first["error_reserved_pct"]) == gr.signed_error(float(first["estimate_allocator_gib"]), 2.0)
    assert "## Speed: DPO, LoRA" in (tmp_path / "out" / "summary.md").read_text()


def test_plain_side_gets_the_reins_settings_and_reports_its_peaks(gc: ModuleType, gp: ModuleType, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def run(cmd: list[str], **kwargs: Any) -> Any:
        seen.append(cmd)
        out = '{"train_runtime": 8.0, "steps": 8, "s_per_step": 1.0, "peak_mem_gb": 30.5, "peak_mem_allocated_gb": 29}'
        return type("Done", (), {"returncode": 0, "stdout": "log line\n" + out, "stderr": ""})()

    monkeypatch.setattr(gc.subprocess, "run", run)
    (tmp_path / "out").mkdir()
    check = gc.Check(tmp_path / "out", tmp_path / "work", None, 100.0, "cuda", {})
    point = next(p for p in gp.special_points() if p.id == "speed-plain-liger")
    row = check.plain(point, tmp_path / "model", tmp_path / "d.jsonl", timeout_s=50)
    cmd = seen[0]
    assert cmd[1].endswith("plain_trl_dpo.py") and cmd[4:9] == ["8", "8", "1024", "1e-05", str(
        tmp_path / "work" / "plain" / "speed-plain-liger")]
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16" and cmd[cmd.index("--lora-dropout") + 1] == "0.05"
    assert "--liger" in cmd and "--precompute-ref" not in cmd
    assert row == {"status": "completed", "s_per_step": 1.0, "measured_reserved_gib": 30.5,
                   "measured_allocated_gib": 29.0}
