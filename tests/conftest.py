"""Fixtures shared by every test: an isolated run store, one tiny model per session, and the helpers that write
recipes, run the real `reins` CLI and read what a run wrote. Helpers are fixtures (not imports between test
modules), so every test names what it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.paths import BUNDLED_RECIPES

REPO = Path(__file__).resolve().parent.parent
TINY_CONFIG = {
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 512,
}

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


# ---------- places ----------

@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "runs"
    monkeypatch.setenv("REINS_RUNS_DIR", str(d))
    return d


# ---------- a machine's GPUs ----------

FAKES = REPO / "tests" / "fakes"  # test-only stand-ins for libraries (pynvml)


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """fake_nvml(gpus, fail_init=False): `import pynvml` gives tests/fakes/pynvml.py reading these GPUs (each `name`,
    `used`, `total` GiB, `util`, optional `processes` [(pid, GiB)]); None: no pynvml at all. Sets $REINS_FAKE_NVML
    and returns the module; a subprocess sees the same machine with `FAKES` first on its PYTHONPATH."""
    import importlib.util

    def install(gpus: list[dict] | None, fail_init: bool = False) -> Any:
        if gpus is None:
            monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
            return None
        machine = tmp_path / "fake-nvml.json"
        machine.write_text(json.dumps({"gpus": gpus, "fail_init": fail_init}))
        monkeypatch.setenv("REINS_FAKE_NVML", str(machine))
        spec = importlib.util.spec_from_file_location("pynvml", FAKES / "pynvml.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module

    return install


# ---------- models ----------

@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (random weights, ~1.6M params) saved with the embedded model's real tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from engine.worker.loading import embedded_tokenizer

    target = tmp_path_factory.mktemp("tiny-llama")
    tok = embedded_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), tie_word_embeddings=True, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TINY_CONFIG)
    LlamaForCausalLM(config).save_pretrained(target)
    tok.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def random_adapter() -> Callable[..., None]:
    """random_adapter(folder, base, seed=1): a LoRA adapter with random, non-zero A and B on `base`, saved with the
    base's tokenizer as a run's final/ is: the policy answers differently from its base."""

    def save(folder: Path, base: Path, seed: int = 1) -> None:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(seed)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                               LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
        model.save_pretrained(folder)
        AutoTokenizer.from_pretrained(base).save_pretrained(folder)

    return save


# ---------- writing inputs ----------

def _write_recipe(path: Path, base: str, model: Path | str, **sections: dict[str, Any] | None) -> Path:
    """A recipe derived from a bundled one (`base`), with the model swapped and sections updated (None: null)."""
    raw = yaml.safe_load((BUNDLED_RECIPES / f"{base}.yaml").read_text())
    raw["model"]["name"] = str(model)
    for key in ("train", "eval"):
        if raw["data"].get(key):
            raw["data"][key] = str(BUNDLED_RECIPES / raw["data"][key])
    for name, values in sections.items():
        if values is None:
            raw[name] = None
        else:
            raw.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="session")
def write_recipe() -> Callable[..., Path]:
    return _write_recipe


@pytest.fixture(scope="session")
def tiny_recipe() -> Callable[..., Path]:
    """tiny_recipe(tmp_path, model, base="dpo", steps=4, **sections): a bundled recipe on the tiny model with short
    sequences and one metric event per step (held-out evaluation kept; pass data={"eval": None} to drop it; capability
    probes off, pass report={"probes": [...]} to run them)."""

    def write(tmp_path: Path, model: Path, base: str = "dpo", steps: int = 4, **sections: Any) -> Path:
        train = {"max_steps": steps, "batch_size": 2, "max_length": 64, "eval_steps": None, "eval_batch_size": 8,
                 "logging_steps": 1, "learning_rate": 1e-3, **sections.pop("train", {})}
        data = {"max_rows": 32, **sections.pop("data", {})}
        # capability probes off unless a test asks: ~200 greedy answers per run would dominate a tiny run's time
        report = {"probes": [], **sections.pop("report", {})}
        return _write_recipe(tmp_path / f"{base}-{steps}.yaml", base, model, train=train, data=data, report=report,
                             **sections)

    return write


@pytest.fixture(scope="session")
def write_jsonl() -> Callable[[Path, list[dict[str, Any]]], Path]:
    def write(path: Path, rows: list[dict[str, Any]]) -> Path:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    return write


def _pairs(n: int = 10) -> list[dict[str, Any]]:
    """`n` small preference rows (standard format) whose texts say which row and side they are."""
    return [{"prompt": f"Question {i}: what is {i} plus {i}?", "chosen": f"{i} plus {i} is {2 * i}.",
             "rejected": f"It is {2 * i + 1}, I think (row {i})."} for i in range(1, n + 1)]


@pytest.fixture(scope="session")
def pairs_rows() -> Callable[..., list[dict[str, Any]]]:
    """pairs_rows(n=10): preference rows to annotate."""
    return _pairs


@pytest.fixture
def late_report() -> Iterator[Callable[..., subprocess.Popen]]:
    """late_report(run_json, headline, after_s): a stand-in worker that has recorded `completed` and is still writing
    its report: after `after_s` it puts `headline` into run.json, then exits. Killed at teardown if still alive."""
    procs: list[subprocess.Popen] = []

    def start(run_json: Path, headline: dict[str, Any], after_s: float = 1.0) -> subprocess.Popen:
        code = ("import json, time\n"
                f"time.sleep({after_s})\n"
                f"p = {str(run_json)!r}\n"
                f"d = json.load(open(p)); d['headline'] = {headline!r}; json.dump(d, open(p, 'w'))\n")
        procs.append(subprocess.Popen([sys.executable, "-c", code]))
        return procs[-1]

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def make_run() -> Callable[..., Any]:
    """make_run(root, run_id, status=…, pid=…, name=…, created=…, events=[(kind, fields), …]): a run directory as
    the launcher leaves it, without training."""
    from engine.runs.events import EventWriter
    from engine.runs.process import process_start_ticks
    from engine.runs.rundir import RunDir

    def make(root: Path, run_id: str, status: str = "completed", pid: int | None = None, name: str | None = None,
             created: str = "2026-11-27T00:00:00+00:00", events: list[tuple[str, dict]] | None = None) -> RunDir:
        rd = RunDir(root / run_id)
        rd.path.mkdir(parents=True)
        rd.update(id=run_id, name=name or run_id, method="dpo", model="m", created=created, status="created",
                  pid=pid, pid_start=process_start_ticks(pid) if pid else None)
        rd.update(status=status)
        with EventWriter(rd.events) as w:
            for kind, fields in events or []:
                w.write(kind, **fields)
        return rd

    return make


# ---------- running and reading runs ----------

def _cli_env(runs: Path | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    if runs is not None:
        env["REINS_RUNS_DIR"] = str(runs)
    return env


@pytest.fixture(scope="session")
def cli_env() -> Callable[..., dict[str, str]]:
    """cli_env(runs=None, **extra): the environment the real CLI runs with (this checkout first on the path)."""
    return _cli_env


class TmuxPane:
    """A program in a detached tmux session: keys in with send-keys, the screen out with capture-pane."""

    def __init__(self, name: str) -> None:
        self.name = name

    def text(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def pid(self) -> int:
        """The program's pid (it was exec'd, so it is the pane's process)."""
        return int(subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                                  capture_output=True, text=True, check=True).stdout)

    def dead(self) -> bool:
        """The program has exited (tmux's own flag: the "Pane is dead" line may not be on the visible screen)."""
        return subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_dead}"],
                              capture_output=True, text=True).stdout.strip() == "1"

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux_pane() -> Iterator[Callable[..., TmuxPane]]:
    """tmux_pane(args, runs, size=(100, 30)): the real `python -m engine ARGS` (this checkout, store `runs`) in a
    tmux session of that size; sessions are closed after the test."""
    import uuid

    opened: list[TmuxPane] = []

    def start(args: list[str], runs: Path, size: tuple[int, int] = (100, 30)) -> TmuxPane:
        pane = TmuxPane(f"reins-test-{uuid.uuid4().hex[:8]}")
        env = " ".join(f"{k}={v}" for k, v in {"PYTHONPATH": REPO, "REINS_RUNS_DIR": runs,
                                                "TERM": "xterm-256color"}.items())
        cmd = f"cd {REPO} && exec env {env} {sys.executable} -m engine {' '.join(args)}"
        subprocess.run(["tmux", "new-session", "-d", "-s", pane.name, "-x", str(size[0]), "-y", str(size[1]), cmd],
                       check=True)
        subprocess.run(["tmux", "set-option", "-t", pane.name, "remain-on-exit", "on"], check=True)
        opened.append(pane)
        return pane

    yield start
    for pane in opened:
        pane.close()


@pytest.fixture(scope="session")
def reins() -> Callable[..., subprocess.CompletedProcess]:
    """reins(*args, runs=None, env=None, timeout=600): the real `reins` CLI (`python -m engine`) in a subprocess."""

    def run(*args: str, runs: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO,
                              env={**_cli_env(runs), **(env or {})}, timeout=timeout)

    return run


# Runs the CLI as `python -m engine` does, and at exit writes which training libraries the process imported.
_IMPORT_PROBE = """
import atexit, json, os, runpy, sys
def _probe():
    heavy = {"torch", "transformers", "trl", "peft"}
    with open(os.environ["REINS_TEST_IMPORTS_OUT"], "w") as fh:
        json.dump(sorted(heavy & {m.split(".")[0] for m in sys.modules}), fh)
atexit.register(_probe)
sys.argv = ["reins", *sys.argv[1:]]
runpy.run_module("engine", run_name="__main__", alter_sys=True)
"""


ImportProbe = Callable[..., tuple[subprocess.CompletedProcess, list[str]]]


@pytest.fixture(scope="session")
def reins_imports(tmp_path_factory: pytest.TempPathFactory) -> ImportProbe:
    """reins_imports(*args, runs=None, env=None, timeout=600): the real CLI in a fresh interpreter, and which of
    torch/transformers/trl/peft that interpreter had imported when it exited."""
    probes = tmp_path_factory.mktemp("import-probes")

    def run(*args: str, runs: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> tuple[subprocess.CompletedProcess, list[str]]:
        out = probes / f"{time.monotonic_ns()}.json"
        res = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *args], capture_output=True, text=True, cwd=REPO,
                             env={**_cli_env(runs), **(env or {}), "REINS_TEST_IMPORTS_OUT": str(out)},
                             timeout=timeout)
        assert out.is_file(), f"the CLI exited without running its atexit hooks: {res.stderr[-2000:]}"
        return res, json.loads(out.read_text())

    return run


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Any]:
    """wait_until(predicate, timeout=240, poll=0.3, what=…): poll until `predicate()` is truthy (returned), or fail."""

    def wait(predicate: Callable[[], Any], timeout: float = 240, poll: float = 0.3, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(poll)
        raise AssertionError(f"{what}: not met within {timeout}s")

    return wait


@pytest.fixture(scope="session")
def metric_events() -> Callable[..., list[dict[str, Any]]]:
    """metric_events(run_dir, split="train"): the run's metric events of one split, in order."""
    from engine.runs import events as ev
    from engine.runs.rundir import RunDir

    def read(run_dir: Path, split: str = "train") -> list[dict[str, Any]]:
        return [e for e in ev.read_all(RunDir(run_dir).events) if e["kind"] == "metric" and e["split"] == split]

    return read


# ---------- a fake OpenAI-compatible judge ----------

Rule = Callable[[str, str], str]  # (answer A, answer B) -> the judge's reply text


@pytest.fixture(scope="session")
def prefers_longer() -> Rule:
    return lambda a, b: "A" if len(a) > len(b) else "B" if len(b) > len(a) else "TIE"


@pytest.fixture(scope="session")
def always_first() -> Rule:
    return lambda _a, _b: "A"  # a judge with pure position bias


@pytest.fixture(scope="session")
def fake_judge(prefers_longer: Rule, fake_chat: Callable[..., Any]) -> Callable[..., Any]:
    """fake_judge(rule=prefers_longer, status=200): a context manager serving `/v1/chat/completions` on loopback;
    yields {"url": base URL, "requests": [(headers, body), ...]}."""
    import re

    def answers(prompt_text: str) -> tuple[str, str]:
        m = re.search(r"Answer A:\n(.*)\n\nAnswer B:\n(.*)\n\nWhich answer is better\?", prompt_text, re.S)
        assert m, prompt_text
        return m.group(1), m.group(2)

    def serve(rule: Rule = prefers_longer, status: int = 200) -> Any:
        return fake_chat(always=None if status == 200 else status,
                         reply=lambda body: rule(*answers(body["messages"][-1]["content"])))

    return serve


# ---------- a fake OpenAI-compatible chat endpoint (generation and judging) ----------

@pytest.fixture(scope="session")
def fake_chat() -> Callable[..., Any]:
    """fake_chat(statuses=None, always=None): tests/fakes/chat_server.py's `serve` — a context manager yielding
    {"url", "requests"}; it answers generation requests by system prompt, judges by length, and can answer scripted
    failure statuses first (`statuses`) or always (`always`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fake_chat_server", FAKES / "chat_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.serve
