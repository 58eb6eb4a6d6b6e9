"""Every kind of bad input: exit code 2 and one paragraph naming the problem, never a traceback, nothing launched."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory, make_run, write_jsonl) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    pref = {"prompt": "q", "chosen": "a", "rejected": "b"}
    (d / "syntax.yaml").write_text("data:\n  train: x.jsonl\nmethod: {name: dpo\n")
    (d / "unknown_key.yaml").write_text("data: {train: x.jsonl}\nmethod: {name: dpo}\ntrain: {learnin_rate: 1}\n")
    (d / "wrong_type.yaml").write_text("data: {train: x.jsonl}\nmethod: {name: dpo}\ntrain: {max_steps: many}\n")
    (d / "no_model.yaml").write_text(f"model: {{name: {d / 'missing-model'}}}\ndata: {{train: x.jsonl}}\n"
                                     "method: {name: dpo}\n")
    (d / "empty_model").mkdir()
    (d / "no_config.yaml").write_text(f"model: {{name: {d / 'empty_model'}}}\ndata: {{train: x.jsonl}}\n"
                                      "method: {name: dpo}\n")
    (d / "hub.yaml").write_text("model: {name: someorg/not-cached}\ndata: {train: x.jsonl}\nmethod: {name: dpo}\n")
    write_jsonl(d / "identical.jsonl", [{"prompt": "q", "chosen": "same", "rejected": "same"}])
    write_jsonl(d / "missing_field.jsonl", [pref, {"prompt": "q", "chosen": "a"}])
    write_jsonl(d / "empty_field.jsonl", [pref, {"prompt": "q", "chosen": "", "rejected": "b"}])
    (d / "duplicate_field.jsonl").write_text('{"prompt": "q", "chosen": "a", "chosen": "c", "rejected": "b"}\n')
    (d / "not_json.jsonl").write_text('{"prompt": "q", "chosen": "a", "rejected": "b"}\n{"prompt": \n')
    (d / "empty.jsonl").write_text("")
    (d / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    write_jsonl(d / "mixed.jsonl", [{"instruction": "q", "output": "a"},
                                    {"conversations": [{"from": "human", "value": "q"}]}])
    (d / "bad_pipeline.yaml").write_text("stages:\n  - {name: a, recipe: sft, set: ['model.name=run:{b}']}\n"
                                         "  - {name: b, recipe: dpo}\n")
    (d / "staged_sweep.yaml").write_text("recipe: dpo\ngrid: {method.beta: [0.1, 0.5]}\nstages:\n"
                                         "  - {name: judge, recipe: rm}\nset: ['report.judge.model=run:{judge}']\n")
    # A run that crashed before its first checkpoint: nothing to resume from.
    store = d / "store"
    make_run(store, "20261127-010000-crashed", status="running", pid=None)
    paths = {p.stem: p for p in d.iterdir()}
    paths["store"] = store
    return paths


def data(name: str) -> list[str]:
    return ["--set", f"data.train={{{name}}}", "--set", "data.eval=null"]


BAD_INPUT = [
    ("unknown recipe", ["validate", "nosuchrecipe"], "Unknown recipe 'nosuchrecipe'"),
    ("unknown recipe (close)", ["run", "dpp"], "Unknown recipe 'dpp'"),
    ("YAML syntax error with line", ["validate", "{syntax}"], "YAML syntax error in"),
    ("YAML syntax error line number", ["validate", "{syntax}"], "at line 4"),
    ("unknown key, close match", ["validate", "{unknown_key}"], "did you mean `learning_rate`"),
    ("wrong type (file)", ["validate", "{wrong_type}"], "train.max_steps: input should be a valid integer"),
    ("wrong type (--set)", ["validate", "dpo", "--set", "train.batch_size=four"],
     "train.batch_size: input should be a valid integer"),
    ("out of range", ["validate", "dpo", "--set", "method.beta=-0.1"], "method.beta: must be > 0 (got -0.1)"),
    ("out of range (lora.r)", ["estimate", "dpo", "--set", "lora.r=0"], "lora.r: must be > 0"),
    ("negative batch", ["estimate", "dpo", "--set", "train.batch_size=-2"], "train.batch_size: must be > 0"),
    ("architecture not on disk or in the catalogue", ["estimate", "dpo", "--model", "no-such-arch"],
     "not in the built-in catalogue"),
    ("unknown strategy", ["estimate", "sft", "--strategy", "zero9"], "strategy: one of ddp"),
    ("zero GPUs", ["estimate", "sft", "--gpus", "0"], "gpus: must be positive"),
    ("LoRA target the architecture lacks", ["estimate", "sft", "--model", "phi-3-mini", "--set",
                                            "lora.target_modules=[q_proj]"], "gate_up_proj"),
    ("estimate without a recipe", ["estimate"], "needs a RECIPE"),
    ("negative GPU memory (estimate)", ["estimate", "dpo", "--gpu-memory", "-5"],
     "GPU memory must be a positive number of GiB (got -5)"),
    ("zero GPU memory (run)", ["run", "dpo", "--gpu-memory", "0"], "GPU memory must be a positive number of GiB"),
    ("bad SLURM options", ["export", "slurm", "dpo", "--nodes", "0", "--gpus-per-node", "1"], "--nodes must be"),
    ("bad SLURM options (job array)", ["export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1",
                                       "--gpus-per-node", "1", "--max-parallel", "0"], "--max-parallel must be ≥ 1"),
    ("invalid sweep member (job array)", ["export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1,-1",
                                          "--gpus-per-node", "1"], "beta=-1: method.beta: must be > 0 (got -1)"),
    ("sweep stages (job array)", ["export", "slurm", "--sweep", "{staged_sweep}", "--gpus-per-node", "1"],
     "has stages (judge): the SLURM export does not run stages yet"),
    ("job array on several nodes", ["export", "slurm", "--sweep", "dpo", "--grid", "method.beta=0.1",
                                    "--gpus-per-node", "1", "--nodes", "2"], "runs on one node"),
    ("inconsistent multi-node settings", ["validate", "dpo", "--set", "distributed.num_machines=2"],
     "main_process_ip"),
    ("unknown pipeline stage reference", ["run", "{bad_pipeline}"], "not an earlier stage"),
    ("bad choice", ["run", "dpo", "--set", "method.loss_type=nope"], "method.loss_type: must be one of"),
    ("dataset path missing", ["validate", "dpo", "--set", "data.train=/no/such/file.jsonl"], "does not exist"),
    ("dataset missing field", ["validate", "dpo", *data("missing_field")], "row 2: missing field `rejected`"),
    ("dataset empty field", ["validate", "dpo", *data("empty_field")], "row 2, field `chosen`"),
    ("dataset duplicate field", ["validate", "dpo", *data("duplicate_field")], "field `chosen` appears twice"),
    ("dataset identical pair", ["validate", "dpo", *data("identical")], "identical"),
    ("dataset not JSON", ["validate", "dpo", *data("not_json")], "line 2: not valid JSON"),
    ("dataset empty", ["validate", "dpo", *data("empty")], "no rows"),
    ("dataset not text", ["validate", "dpo", *data("binary")], "is not UTF-8 text"),
    ("dataset of mixed formats", ["validate", "sft", *data("mixed")],
     "mixed.jsonl, row 2: looks like sharegpt while the file is alpaca"),
    ("unknown data format (--set)", ["validate", "dpo", "--set", "data.format=csv"], "data.format: must be one of"),
    ("mixture weight out of range", ["validate", "dpo", "--set", "data.train=[{{path: x.jsonl, weight: 0}}]"],
     "weight: must be > 0"),
    ("data inspect: file missing", ["data", "inspect", "/no/such/file.jsonl"], "does not exist"),
    ("data inspect: unknown format", ["data", "inspect", "{missing_field}", "--format", "csv"],
     "Unknown data format 'csv'"),
    ("data sample: bad -n", ["data", "sample", "{missing_field}", "-n", "0"], "-n must be at least 1"),
    ("data sample: missing field", ["data", "sample", "{missing_field}"], "row 2: missing field `rejected`"),
    ("data split: bad fraction", ["data", "split", "{identical}", "/tmp/t.jsonl", "/tmp/e.jsonl",
                                  "--eval-fraction", "1.5"], "--eval-fraction must be between 0 and 1"),
    ("data convert: into a missing folder", ["data", "convert", "{identical}", "/no/such/dir/out.jsonl"],
     "folder /no/such/dir does not exist"),
    ("model path missing", ["validate", "{no_model}"], "does not exist"),
    ("model without config", ["validate", "{no_config}"], "has no config.json"),
    ("hub id, no network", ["validate", "{hub}"], "not in the local Hugging Face cache"),
    ("--set unknown key", ["validate", "dpo", "--set", "train.learnin_rate=1"], "did you mean `train.learning_rate`"),
    ("--set unknown section", ["run", "dpo", "--set", "nosection.x=1"], "--set nosection.x: no such setting"),
    ("--set without =", ["validate", "dpo", "--set", "train.learning_rate"], "expected KEY=VALUE"),
    ("unknown run id (show)", ["show", "no-such-run"], "No run 'no-such-run'"),
    ("unknown run id (stop)", ["stop", "no-such-run"], "No run 'no-such-run'"),
    ("unknown run id (logs)", ["logs", "no-such-run"], "No run 'no-such-run'"),
    ("unknown run id (watch)", ["watch", "no-such-run"], "No run 'no-such-run'"),
    ("unknown run id (resume)", ["resume", "no-such-run"], "No run 'no-such-run'"),
    ("run ref escaping the store", ["show", ".."], "No run '..'"),
    ("resume without checkpoint", ["resume", "20261127-010000", "--runs-dir", "{store}"],
     "(crashed) has no checkpoint"),
    ("sweep member out of range", ["sweep", "dpo", "--grid", "method.beta=-1,0.1"],
     "beta=-1: method.beta: must be > 0 (got -1)"),
    ("sweep grid key not a setting", ["sweep", "dpo", "--grid", "method.betta=0.1,0.2"],
     "did you mean `method.beta`"),
    ("sweep without a grid", ["sweep", "dpo"], "at least one --grid"),
    ("sweep of more than 64 members", ["sweep", "dpo", "--grid",
                                       "method.beta=" + ",".join(f"0.{i:02d}" for i in range(1, 66))], "pass --yes"),
    ("sweep grid value not a scalar", ["sweep", "dpo", "--grid", "lora.target_modules=[q_proj]"], "sweep file"),
    ("sweep --set for a stage it lacks", ["sweep", "sweeps/beta", "--set", "rm:train.max_steps=4"],
     "no stage 'rm' (its stages are judge)"),
    ("unknown sweep", ["sweep", "show", "no-such-sweep"], "No sweep 'no-such-sweep'"),
    ("sweep show without an id", ["sweep", "show"], "needs a sweep id"),
    ("--devices on a machine without GPUs", ["run", "dpo", "--devices", "0"], "this machine has none"),
    ("--devices malformed", ["run", "dpo", "--devices", "a,b"], "--devices takes GPU ids"),
    ("--priority without --queue", ["run", "dpo", "--priority", "2"], "add --queue"),
    ("--queue for a multi-node run", ["run", "dpo", "--queue", "--set", "distributed.num_machines=2", "--set",
                                      "distributed.main_process_ip=10.0.0.1"], "scheduled by SLURM"),
    ("reward function file missing", ["validate", "grpo-arith", "--set", "method.reward_funcs=[rewards/nope.py:f]",
                                      "--set", "method.reward_weights=null"], "rewards/nope.py does not exist"),
    ("reward function not in its file", ["validate", "grpo-arith", "--set", "method.reward_weights=null", "--set",
                                         "method.reward_funcs=[rewards/exact_match.py:exact]"],
     "exact_match.py defines no function 'exact' (top-level functions: exact_match)"),
    ("reward weights miscounted", ["run", "grpo-arith", "--set", "method.reward_weights=[1, 1]"],
     "reward_weights has 2 weights for 3 rewards"),
    ("GRPO without any reward", ["validate", "grpo-arith", "--set", "method.reward_funcs=[]"],
     "give a reward: reward_model, reward_funcs, or both"),
    ("cancel an unknown run", ["queue", "cancel", "no-such-run"], "No run 'no-such-run'"),
    ("queue setting out of range", ["queue", "set", "max_running=0"], "max_running: must be >= 1"),
    ("unknown queue setting", ["queue", "set", "max_runing=2"], "Unknown queue setting max_runing"),
]


@pytest.mark.parametrize(("case", "argv", "expected"), BAD_INPUT, ids=[c for c, _, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_clear_paragraph(case, argv, expected, bad, tmp_path: Path, reins) -> None:
    argv = [a.format(**bad) for a in argv]
    runs = tmp_path / "runs"
    res = reins(*argv, runs=runs, env={"HF_HOME": str(tmp_path / "hf")}, timeout=120)
    assert res.returncode == 2, f"{case}: {res.returncode}\n{res.stderr}"
    text = res.stderr.strip()
    assert expected in " ".join(text.split()), text
    assert text.startswith("error:") and "Traceback" not in text and "\n\n" not in text  # one paragraph
    assert not runs.exists() or not any(runs.iterdir())  # nothing launched or written


def test_the_table_covers_every_case_the_issue_names() -> None:
    named = {"unknown recipe", "YAML syntax error with line", "unknown key, close match", "wrong type (file)",
             "out of range", "dataset path missing", "dataset missing field", "dataset empty field",
             "dataset duplicate field", "model path missing", "model without config", "hub id, no network",
             "--set unknown key", "unknown run id (show)", "resume without checkpoint"}
    assert named <= {c for c, _, _ in BAD_INPUT}
