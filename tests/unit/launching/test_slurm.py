"""`reins export slurm`: the script matches a reviewed golden file, and under a fake `srun` each node runs the right
`reins run` of the `reins` that wrote the script, by absolute path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import ReinsError
from engine.launching.slurm import ReinsCommand, SlurmJob, sbatch_script, this_reins

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "slurm_dpo.sh"
JOB = SlurmJob(nodes=2, gpus_per_node=4, time="12:00:00", partition="gpu", job_name="reins-dpo")
OVERRIDES = ["train.max_steps=500", "model.name=/data/my model"]
REINS = ReinsCommand(("/opt/reins/.venv/bin/reins",), "the `reins` console script that wrote this script")


def test_script_matches_the_golden_file() -> None:
    assert sbatch_script("dpo", OVERRIDES, JOB, Path("/shared/runs"), REINS) == GOLDEN.read_text()


def test_the_script_calls_the_reins_that_wrote_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    console = tmp_path / "venv" / "bin" / "reins"
    console.parent.mkdir(parents=True)
    console.write_text("#!/venv/bin/python\n")
    monkeypatch.chdir(console.parent)
    monkeypatch.setattr(sys, "argv", ["reins", "export", "slurm"])  # found on PATH as a relative name
    assert this_reins().argv == (str(console.resolve()),)
    monkeypatch.setattr(sys, "argv", ["/somewhere/engine/__main__.py", "export", "slurm"])  # python -m engine
    assert this_reins().argv == (sys.executable, "-m", "engine")
    monkeypatch.setenv("PYTHONPATH", "/src/reins")  # it decides which engine runs: the nodes get the same
    reins = this_reins()
    assert reins.argv == ("env", "PYTHONPATH=/src/reins", sys.executable, "-m", "engine")
    assert "PYTHONPATH" in reins.origin
    assert "REINS=(env PYTHONPATH=/src/reins " in sbatch_script("dpo", [], JOB, Path("/r"), reins)


def test_bad_slurm_options_are_named() -> None:
    with pytest.raises(ReinsError) as exc:
        sbatch_script("dpo", [], SlurmJob(nodes=0, gpus_per_node=1, time="4h"), Path("/r"))
    assert len(exc.value.problems) == 2


def test_under_a_fake_srun_each_node_runs_reins_with_its_rank(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    record = (f"#!{sys.executable}\nimport json, os, sys\n"
              f"open({str(log)!r}, 'a').write(json.dumps({{'argv': sys.argv, 'node': os.environ.get('SLURM_NODEID'),"
              " 'run_id': os.environ.get('RUN_ID'), 'runs': os.environ.get('REINS_RUNS_DIR')}) + '\\n')\n")
    # srun: record its own arguments, then run the task once per node with that node's SLURM variables.
    (bin_dir / "srun").write_text(record + (
        "import subprocess\nargs = sys.argv[1:]\nwhile args and args[0].startswith('--'): args = args[1:]\n"
        "for node in range(int(os.environ['SLURM_NNODES'])):\n"
        "    subprocess.run(args, env={**os.environ, 'SLURM_NODEID': str(node)}, check=True)\n"))
    (bin_dir / "scontrol").write_text("#!/bin/sh\nprintf 'gpu-node-1\\ngpu-node-2\\n'\n")
    # The reins that "wrote" the script lives off PATH (a virtual environment nobody activated on the nodes).
    venv = tmp_path / "venv with space" / "bin"
    venv.mkdir(parents=True)
    (venv / "reins").write_text(record)
    for f in [*bin_dir.iterdir(), venv / "reins"]:
        f.chmod(0o755)
    script = tmp_path / "job.sh"
    text = sbatch_script("dpo", OVERRIDES, JOB, Path("/shared/runs"), ReinsCommand((str(venv / "reins"),), "test"))
    assert text == GOLDEN.read_text().replace(REINS.argv[0], f"'{venv / 'reins'}'").replace(REINS.origin, "test")
    script.write_text(text)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_JOB_ID": "42", "SLURM_NNODES": "2",
           "SLURM_JOB_NODELIST": "gpu-node-[1-2]"}
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    srun, nodes = calls[0], calls[1:]
    assert Path(srun["argv"][0]).name == "srun" and "--nodes=2" in srun["argv"]
    assert [c["node"] for c in nodes] == ["0", "1"]
    for rank, call in enumerate(nodes):
        assert call["argv"][0] == str(venv / "reins")  # by absolute path, not whichever `reins` PATH finds
        argv = call["argv"][1:]
        assert argv[:2] == ["run", "dpo"] and "--wait" in argv
        assert argv[argv.index("--run-id") + 1] == call["run_id"] and call["run_id"].endswith("-reins-dpo-42")
        sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        assert sets[:2] == OVERRIDES  # quoted through both shells intact, spaces and all
        assert f"distributed.machine_rank={rank}" in sets and "distributed.num_machines=2" in sets
        assert "distributed.main_process_ip=gpu-node-1" in sets and "distributed.num_processes=4" in sets
        assert call["runs"] == "/shared/runs"
    assert nodes[0]["run_id"] == nodes[1]["run_id"]
