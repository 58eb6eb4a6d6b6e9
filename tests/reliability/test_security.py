"""Secrets never reach a run's files, names cannot escape the store or reach a shell, files follow the umask,
no port is opened, and a model's own code runs only when the recipe says so (with a warning)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from engine.launching.secrets import is_secret_name, redact, worker_env

ROOT = Path(__file__).resolve().parents[2]


SECRETS = {
    "HF_TOKEN": "hf_FAKEtokenvalue1234567890abcdef",
    "WANDB_API_KEY": "wandb-fake-api-key-0123456789",
    "OPENAI_API_KEY": "sk-fake-openai-0123456789abcdef",
    "MY_SERVICE_SECRET": "svc-secret-value-9876543210",
    "CUSTOM_ACCESS_TOKEN": "custom-access-token-abcdef0123",
}
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[a-z0-9-]+")


def test_secret_names_and_redaction() -> None:
    for name in (*SECRETS, "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "db_password", "ANTHROPIC_API_KEY"):
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "CUDA_VISIBLE_DEVICES", "TOKENIZERS_PARALLELISM", "SSH_AUTH_SOCK"):
        assert not is_secret_name(name), name
    env = {**SECRETS, "PATH": "/bin"}
    assert worker_env(env) == {"PATH": "/bin"}
    assert redact(f"model {SECRETS['HF_TOKEN']} x", env) == "model [redacted] x"


@pytest.mark.e2e
def test_secrets_never_reach_the_run_and_nothing_listens(tmp_path: Path, tiny_model: Path, cli_env, metric_steps,
                                                         record, reins, tiny_recipe, wait_until) -> None:
    runs = tmp_path / "runs"
    recipe = tiny_recipe(tmp_path, tiny_model, steps=12)
    env = {**cli_env(runs), **SECRETS}
    # The token also typed into an override, as someone pasting the wrong thing would.
    cmd = [sys.executable, "-m", "engine", "run", str(recipe), "--json", "--set",
           f"description=copied {SECRETS['HF_TOKEN']} by mistake"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = Path(json.loads(res.stdout)["path"])
    wait_until(lambda: len(metric_steps(run_dir)) >= 1, what="first metrics")

    # While it trains: no secret in any run process's environment, and no process of the run listens on a port.
    rec = record(run_dir)
    procs = [psutil.Process(rec["pid"])]
    procs += procs[0].children(recursive=True)
    assert any(p.pid == rec["worker_pid"] for p in procs)
    listening = []
    for p in procs:
        environ = Path(f"/proc/{p.pid}/environ").read_bytes()
        for name, value in SECRETS.items():
            assert value.encode() not in environ and f"{name}=".encode() not in environ, (p.pid, name)
        listening += [c for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN or
                      (c.type == 2 and c.laddr)]  # TCP LISTEN, or a bound UDP socket
    assert listening == []

    wait_until(lambda: record(run_dir).get("status") == "completed", timeout=300, what="completion")
    shown = reins("show", run_dir.name, "--json", runs=runs).stdout
    for path in [*run_dir.rglob("*"), runs / "index.json"]:
        if path.is_file():
            blob = path.read_bytes()
            for name, value in SECRETS.items():
                assert value.encode() not in blob, f"{name} leaked into {path}"
    for value in SECRETS.values():
        assert value not in shown and value not in res.stdout and value not in res.stderr
    assert "[redacted]" in (run_dir / "recipe.yaml").read_text()


@pytest.mark.e2e
def test_names_cannot_escape_the_store_or_reach_a_shell(tmp_path: Path, tiny_model: Path, quick_env, record, reins,
                                                        tiny_recipe, wait_until) -> None:
    runs = tmp_path / "runs"
    hostile = "../../escape; touch pwned $(touch pwned2) `touch pwned3` | rm -rf ~ && echo"
    res = reins("run", str(tiny_recipe(tmp_path, tiny_model)), "--name", hostile, "--json", runs=runs,
                env=quick_env(runs))
    assert res.returncode == 0, res.stderr
    run = json.loads(res.stdout)
    assert RUN_ID.fullmatch(run["id"]) and Path(run["path"]).parent == runs.resolve()
    assert [p.name for p in runs.iterdir() if p.is_dir()] == [run["id"]]
    assert run["name"] == hostile  # kept as data, never interpreted
    for where in (ROOT, tmp_path, Path.cwd()):
        assert not list(where.glob("pwned*")) and not (where / "escape").exists()
    wait_until(lambda: record(Path(run["path"])).get("status") == "completed", timeout=60)
    assert isinstance(record(Path(run["path"]))["argv"], list)


def test_engine_never_builds_shell_strings() -> None:
    offenders = []
    for path in (ROOT / "engine").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = ast.unparse(node.func)
                if func in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
                    offenders.append(f"{path.name}: {func}")
                if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                       for k in node.keywords):
                    offenders.append(f"{path.name}: {func}(shell=…)")
    assert offenders == []


@pytest.mark.e2e
@pytest.mark.parametrize("umask", [0o027, 0o002])
def test_run_files_and_index_follow_the_umask(umask: int, tmp_path: Path, tiny_model: Path, quick_env, record,
                                              tiny_recipe, wait_until) -> None:
    runs = tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "engine", "run", str(tiny_recipe(tmp_path, tiny_model)), "--json"],
                         capture_output=True, text=True, cwd=ROOT, env=quick_env(runs),
                         preexec_fn=lambda: os.umask(umask), timeout=120)
    assert res.returncode == 0, res.stderr
    run_dir = Path(json.loads(res.stdout)["path"])
    wait_until(lambda: record(run_dir).get("status") == "completed", timeout=60)
    subprocess.run([sys.executable, "-m", "engine", "ls"], cwd=ROOT, env=quick_env(runs), check=True,
                   capture_output=True, preexec_fn=lambda: os.umask(umask))

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(runs) == mode(run_dir) == 0o777 & ~umask
    for name in ("run.json", "recipe.yaml", "estimate.json", "events.jsonl", "stdout.log"):
        assert mode(run_dir / name) == 0o666 & ~umask, name
    assert mode(runs / "index.json") == 0o666 & ~umask


@pytest.mark.e2e
def test_model_code_runs_only_when_the_recipe_trusts_it(tmp_path: Path, tiny_model: Path, reins, tiny_recipe) -> None:
    model = tmp_path / "remote-code-model"
    shutil.copytree(tiny_model, model)
    marker = tmp_path / "remote-code-ran"
    (model / "evil.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n\n\n"
        "class EvilConfig(LlamaConfig):\n    pass\n\n\n"
        "class EvilModel(LlamaForCausalLM):\n    config_class = EvilConfig\n"
    )
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilModel"}
    (model / "config.json").write_text(json.dumps(config))
    recipe = tiny_recipe(tmp_path, model, steps=1)
    env = {"HF_HOME": str(tmp_path / "hf")}

    off = reins("run", str(recipe), "--wait", "--json", runs=tmp_path / "off", env=env)
    assert "trust_remote_code" not in off.stderr and not marker.exists()  # default: the model's code never ran

    on = reins("run", str(recipe), "--set", "model.trust_remote_code=true", "--wait", "--json",
               runs=tmp_path / "on", env=env)
    assert "warning: model.trust_remote_code is on" in " ".join(on.stderr.split())
    assert marker.exists()  # …and the same model's code does run once the recipe trusts it
