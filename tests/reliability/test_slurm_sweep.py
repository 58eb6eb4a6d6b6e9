"""`reins export slurm --sweep` end to end without a cluster: the real CLI writes the job array and the sweep's
record, a fake `sbatch` runs every task with the real `reins` (the quick test worker instead of training), `reins sweep
show` ranks the members, and requeued tasks leave a completed run alone and continue a preempted one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from engine.runs.rundir import RunDir

# sbatch as SLURM would run an array: the script once per index of its `#SBATCH --array=A-B` line.
FAKE_SBATCH = f"""#!{sys.executable}
import os, re, subprocess, sys
text = open(sys.argv[-1]).read()
first, last = map(int, re.search(r'^#SBATCH --array=(\\d+)-(\\d+)', text, re.M).groups())
for i in range(first, last + 1):
    subprocess.run(['bash', sys.argv[-1]], env={{**os.environ, 'SLURM_ARRAY_TASK_ID': str(i)}}, check=True)
"""


def preempt(run: RunDir, checkpoint: bool) -> None:
    """Make a completed run look as a preempted SLURM task leaves it: `running` on a node gone, no end."""
    lines = [line for line in run.events.read_text().splitlines()
             if json.loads(line).get("status") not in ("completed",)]
    run.events.write_text("".join(f"{line}\n" for line in lines))
    record = json.loads(run.run_json.read_text())
    for key in ("ended", "worker_pid", "worker_pid_start", "pid", "pid_start"):
        record.pop(key, None)
    run.run_json.write_text(json.dumps({**record, "status": "running", "host": "gpu-node-preempted"}))
    if checkpoint:
        (run.checkpoints / "checkpoint-2").mkdir(parents=True)
        (run.checkpoints / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2, "max_steps": 3}')


def test_a_job_array_runs_each_member_and_reins_sweep_show_ranks_them(tmp_path: Path, reins, quick_env) -> None:
    runs, job, bin_dir = tmp_path / "runs", tmp_path / "sweep.sh", tmp_path / "bin"
    env = quick_env(runs)
    res = reins("export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1,0.5", "--gpus-per-node", "1",
                "-o", str(job), runs=runs, env=env)
    assert res.returncode == 0, res.stderr
    sweep_id = json.loads(next((runs / "sweeps").glob("*.json")).read_text())["id"]
    assert f"reins sweep show {sweep_id}" in res.stderr
    shown = json.loads(reins("sweep", "show", sweep_id, "--json", runs=runs).stdout)
    assert shown["status"] == "queued" and [m["status"] for m in shown["members"]] == ["pending", "pending"]
    res = reins("sweep", "stop", sweep_id, runs=runs)  # its runs are SLURM's to stop, on nodes this cannot signal
    assert res.returncode == 2 and f"scancel --name=reins-{sweep_id}" in " ".join(res.stderr.split())

    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    cluster = {**env, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["sbatch", str(job)], env=cluster, check=True, capture_output=True, timeout=300)
    res = reins("sweep", "show", sweep_id, "--json", runs=runs)
    shown = json.loads(res.stdout)
    assert shown["status"] == "completed", res.stdout
    ids = [m["run_id"] for m in shown["members"]]
    assert ids == [f"{sweep_id}-1", f"{sweep_id}-2"] and len(shown["points"]) == 2
    for i, run_id in enumerate(ids):
        member = json.loads((runs / run_id / "run.json").read_text())["sweep"]
        assert member == {"id": sweep_id, "member": i, "label": f"beta={(0.1, 0.5)[i]}",
                          "settings": {"method.beta": (0.1, 0.5)[i]}, "seed": None}

    # Requeued after the preemption of member 2, which had written a checkpoint on a node since gone: a plain
    # resume cannot tell its processes are dead, `--requeued` (what the task runs) can. Member 1 had completed.
    second = RunDir(runs / ids[1])
    preempt(second, checkpoint=True)
    res = reins("resume", ids[1], "--yes", runs=runs)
    assert res.returncode == 2 and "still running" in res.stderr
    done = subprocess.run(["sbatch", str(job)], env=cluster, check=True, capture_output=True, text=True,
                          timeout=300)
    assert f"{ids[0]} already completed; nothing to resume" in done.stderr
    record = second.read()
    assert record["status"] == "completed" and record["attempt"] == 2 and record["resume_step"] == 2
    assert record["attempts"][0]["status"] == "crashed" and record["host"] == socket.gethostname()

    # Preempted before its first checkpoint: the requeued task cannot continue the run and says so.
    preempt(RunDir(runs / ids[0]), checkpoint=False)
    task = subprocess.run(["bash", str(job)], env={**cluster, "SLURM_ARRAY_TASK_ID": "0"}, capture_output=True,
                          text=True, timeout=120)
    assert task.returncode == 2 and "has no checkpoint" in " ".join(task.stderr.split()), task.stderr


def test_a_member_that_fails_validation_writes_nothing(tmp_path: Path, reins) -> None:
    runs, job = tmp_path / "runs", tmp_path / "sweep.sh"
    res = reins("export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1,-1", "--gpus-per-node", "1",
                "-o", str(job), runs=runs)
    assert res.returncode == 2 and "beta=-1: method.beta: must be > 0" in res.stderr
    assert not job.exists() and not runs.exists()
