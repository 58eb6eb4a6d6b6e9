"""`reins export slurm --sweep`: the job array matches a reviewed golden file, and under a fake `sbatch` every task
runs its member's `reins run` (the reins that wrote the script, by absolute path) and, requeued, resumes that run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import ReinsError
from engine.launching.slurm import ReinsCommand, SlurmJob, array_script
from engine.sweeps.plan import expand
from engine.sweeps.slurm_array import array_tasks
from engine.sweeps.spec import SweepSpec

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "slurm_sweep.sh"
SWEEP_ID = "20261201-120000-sweep-beta"
JOB = SlurmJob(nodes=1, gpus_per_node=2, time="08:00:00", partition="gpu", job_name=f"reins-{SWEEP_ID}",
               max_parallel=2)
REINS = ReinsCommand(("/opt/reins/.venv/bin/reins",), "the `reins` console script that wrote this script")
# Two grid points × two seeds, a shared override with a space and a label with a quote: quoting is exercised.
SPEC = SweepSpec(recipe="dpo", set=["model.name=/data/my model"], seeds=2,
                 grid={"method.beta": [0.1, 0.5], "data.train": ["/data/bob's pairs.jsonl"]})
TASKS = array_tasks(SWEEP_ID, expand(SPEC, 42))


def script(reins: ReinsCommand = REINS) -> str:
    return array_script("dpo", TASKS, JOB, Path("/shared/runs"), SWEEP_ID, reins)


def test_script_matches_the_golden_file() -> None:
    assert script() == GOLDEN.read_text()


def test_an_array_is_single_node_with_sane_options() -> None:
    with pytest.raises(ReinsError, match="one node"):
        array_script("dpo", TASKS, SlurmJob(nodes=2, gpus_per_node=1), Path("/r"), SWEEP_ID, REINS)
    with pytest.raises(ReinsError) as exc:
        array_script("dpo", TASKS, SlurmJob(nodes=1, gpus_per_node=1, max_parallel=0), Path("/r"), SWEEP_ID, REINS)
    assert "--max-parallel must be ≥ 1" in exc.value.problems[0]


RECORD = """#!{python}
import json, os, sys
open({log!r}, 'a').write(json.dumps({{'argv': sys.argv, 'task': os.environ.get('SLURM_ARRAY_TASK_ID'),
                                      'runs': os.environ.get('REINS_RUNS_DIR')}}) + '\\n')
"""
# The fake reins: `run --run-id ID` creates the run folder, as the launcher does before anything can fail later.
FAKE_REINS = RECORD + """if sys.argv[1] == 'run':
    os.makedirs(os.path.join(os.environ['REINS_RUNS_DIR'], sys.argv[sys.argv.index('--run-id') + 1]))
"""
# sbatch as SLURM would run an array: the script once per index of its `#SBATCH --array=A-B%K` line.
FAKE_SBATCH = RECORD + """import re, subprocess
text = open(sys.argv[-1]).read()
first, last = map(int, re.search(r'^#SBATCH --array=(\\d+)-(\\d+)', text, re.M).groups())
for i in range(first, last + 1):
    env = {{**os.environ, 'SLURM_ARRAY_JOB_ID': '7', 'SLURM_ARRAY_TASK_ID': str(i), 'SLURM_JOB_ID': str(8 + i)}}
    subprocess.run(['bash', sys.argv[-1]], env=env, check=True)
"""


def test_under_a_fake_sbatch_each_task_runs_its_member_then_resumes_it_when_requeued(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    bin_dir, venv, runs = tmp_path / "bin", tmp_path / "venv with space" / "bin", tmp_path / "runs"
    for d in (bin_dir, venv, runs):
        d.mkdir(parents=True)
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(python=sys.executable, log=str(log)))
    for name in ("srun", "scontrol"):  # single-node tasks need neither: recorded if they are called anyway
        (bin_dir / name).write_text(RECORD.format(python=sys.executable, log=str(log)))
    # The reins that "wrote" the script lives off PATH (a virtual environment nobody activated on the nodes).
    (venv / "reins").write_text(FAKE_REINS.format(python=sys.executable, log=str(log)))
    for f in [*bin_dir.iterdir(), venv / "reins"]:
        f.chmod(0o755)
    job = tmp_path / "sweep.sh"
    job.write_text(script(ReinsCommand((str(venv / "reins"),), "test")).replace("/shared/runs", str(runs)))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def submit() -> list[dict]:
        log.unlink(missing_ok=True)
        subprocess.run(["sbatch", str(job)], env=env, check=True, timeout=60)
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        assert Path(calls[0]["argv"][0]).name == "sbatch"
        tasks = calls[1:]
        assert [c["task"] for c in tasks] == [str(i) for i in range(len(TASKS))]  # only reins, once per task
        assert all(c["argv"][0] == str(venv / "reins") and c["runs"] == str(runs) for c in tasks)
        return [c["argv"][1:] for c in tasks]

    for argv, task in zip(submit(), TASKS, strict=True):
        assert argv[:2] == ["run", "dpo"] and "--wait" in argv
        assert argv[argv.index("--run-id") + 1] == task.run_id
        sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        assert sets == [*task.overrides, "distributed.num_processes=2"]  # spaces and quotes intact
        assert json.loads(argv[argv.index("--sweep-member") + 1]) == task.sweep
    assert sorted(p.name for p in runs.iterdir()) == sorted(t.run_id for t in TASKS)
    # Requeued (preemption): each task finds its run folder and continues that run instead of starting another.
    for argv, task in zip(submit(), TASKS, strict=True):
        assert argv == ["resume", task.run_id, "--requeued", "--yes", "--wait"]


def test_a_task_outside_the_array_fails_clearly(tmp_path: Path) -> None:
    job = tmp_path / "sweep.sh"
    job.write_text(script())
    res = subprocess.run(["bash", str(job)], env={**os.environ, "SLURM_ARRAY_TASK_ID": "9"}, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and f"sweep {SWEEP_ID} has no member 9 (tasks 0-3)" in res.stderr
    res = subprocess.run(["bash", str(job)], env={k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "submit it with sbatch" in res.stderr
