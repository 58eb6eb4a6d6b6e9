"""Overhead of Reins over plain TRL: the same DPO steps on the same model, timed both ways; prints the ratio.

    .venv/bin/python bench/overhead.py --steps 6 --repeats 2

Per-step time is the trainer's own `train_runtime / steps` in both cases (the Reins figure comes from the run's final
status event), so it includes Reins' event-writing callback; the end-to-end wall time, which also includes process
start-up (`accelerate launch`, imports, model load), is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.recipe.loading import load_recipe  # noqa: E402
from engine.recipe.model_refs import resolve_model  # noqa: E402
from engine.runs import events  # noqa: E402


def plain_command(model_dir: Path, train_file: str | Path, steps: int, batch: int, max_length: int, lr: float,
                  out: Path, *options: str) -> list[str]:
    """The plain TRL script's command line (`options`: its flags, e.g. `--dtype bfloat16 --liger`)."""
    return [sys.executable, str(ROOT / "bench" / "plain_trl_dpo.py"), str(model_dir), str(train_file), str(steps),
            str(batch), str(max_length), str(lr), str(out), *options]


def run_plain(model_dir: Path, recipe, out: Path) -> tuple[float, float]:
    t = recipe.train
    cmd = plain_command(model_dir, recipe.data.train, t.max_steps, t.batch_size, t.max_length, t.learning_rate, out)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return json.loads(res.stdout.strip().splitlines()[-1])["s_per_step"], wall


def run_reins(overrides: list[str], runs: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "engine", "run", "dpo", "--wait", "--json", "--runs-dir", str(runs)]
    for o in overrides:
        cmd += ["--set", o]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"reins run failed:\n{res.stderr[-2000:]}")
    run = json.loads(res.stdout)
    final = [e for e in events.read_all(Path(run["path"]) / "events.jsonl") if e.get("status") == "completed"][-1]
    return final["summary"]["s_per_step"], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    overrides = [f"train.max_steps={args.steps}", f"train.batch_size={args.batch}",
                 f"train.max_length={args.max_length}", "data.eval=null", "train.eval_on_start=false",
                 "report.enabled=false"]  # plain TRL does no post-training evaluation either
    recipe = load_recipe("dpo", overrides).recipe
    model = resolve_model(recipe.model.name)
    if not model.ready:
        raise SystemExit("Convert the embedded model first: run any `reins run dpo` once (or `make run`).")
    plain, reins = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # alternate, so drift in machine speed hits both sides alike
            plain.append(run_plain(model.path, recipe, Path(tmp) / f"plain{i}"))
            reins.append(run_reins(overrides, Path(tmp) / "runs"))
            print(f"repeat {i + 1}: plain {plain[-1][0]:.3f} s/step (wall {plain[-1][1]:.1f} s)   "
                  f"reins {reins[-1][0]:.3f} s/step (wall {reins[-1][1]:.1f} s)", flush=True)
    p = statistics.median(x for x, _ in plain)
    r = statistics.median(x for x, _ in reins)
    pw = statistics.median(w for _, w in plain)
    rw = statistics.median(w for _, w in reins)
    print(f"\nDPO, {recipe.model.name}, {args.steps} steps × batch {args.batch}, max_length {args.max_length}, "
          f"{os.cpu_count()} CPUs, {args.repeats} repeats (medians)")
    print(f"  per step:   plain TRL {p:.3f} s   reins {r:.3f} s   ratio {r / p:.3f}")
    print(f"  end to end: plain TRL {pw:.1f} s   reins {rw:.1f} s   (+{rw - pw:.1f} s launch, events, registry)")


if __name__ == "__main__":
    main()
