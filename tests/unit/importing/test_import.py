"""`reins import llamafactory|axolotl`: every real example config in tests/fixtures/import/ becomes a recipe that
`reins validate` accepts (schema; the data names the other tool's datasets), with the settings carried over and
every key without a Reins equivalent listed; stages Reins has no method for are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import api
from engine.errors import ReinsError
from engine.importing.mapping import ConfigImportError, import_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
LLAMAFACTORY = sorted((FIXTURES / "llamafactory").glob("*.y*ml"))
AXOLOTL = sorted((FIXTURES / "axolotl").glob("*.y*ml"))
REFUSED = {"qwen3_lora_pretrain.yaml"}  # stage pt: continued pre-training, no Reins method

# fixture → (method, loss_type or None, LoRA rank or None for full fine-tuning, quantization)
EXPECTED = {
    "llama3_lora_orpo.yaml": ("orpo", None, 8, None),
    "llama3_lora_ppo.yaml": ("ppo", None, 8, None),
    "qwen3_full_sft.yaml": ("sft", None, None, None),
    "qwen3_lora_dpo.yaml": ("dpo", "sigmoid", 8, None),
    "qwen3_lora_kto.yaml": ("kto", None, 8, None),
    "qwen3_lora_reward.yaml": ("rm", None, 8, None),
    "qwen3_lora_sft.yaml": ("sft", None, 8, None),
    "qwen3_lora_sft_otfq.yaml": ("sft", None, 8, "4bit"),
    "llama-3_fft-8b.yaml": ("sft", None, None, None),
    "llama-3_instruct-dpo-lora-8b.yml": ("dpo", None, 32, "8bit"),
    "llama-3_lora-1b.yml": ("sft", None, 16, None),
    "llama-3_qlora-1b-kto.yaml": ("kto", None, 32, "4bit"),
    "mistral_orpo_mistral-qlora-orpo.yml": ("orpo", None, 32, "4bit"),
    "qwen2_dpo.yaml": ("dpo", None, None, None),
    "qwen2_reward-model.yaml": ("rm", None, None, None),
}


def _tool(path: Path) -> str:
    return path.parent.name


@pytest.mark.parametrize("path", [p for p in LLAMAFACTORY + AXOLOTL if p.name not in REFUSED], ids=lambda p: p.name)
def test_each_example_maps_to_a_recipe_reins_validates(path: Path, tmp_path: Path) -> None:
    written = tmp_path / "recipe.yaml"
    done = import_config(_tool(path), path, written)
    loaded = api.validate_recipe(written, check_files=False)  # what `reins validate` checks, without data files
    recipe = loaded.recipe
    method, loss, rank, quantization = EXPECTED[path.name]
    assert recipe.method.name == method
    if loss:
        assert recipe.method.loss_type == loss
    assert (recipe.lora.r if recipe.lora else None) == rank
    assert recipe.model.quantization == (quantization or "none")
    source = yaml.safe_load(path.read_text())
    assert recipe.model.name == source.get("model_name_or_path", source.get("base_model"))
    # every key the config sets is accounted for: mapped, or listed with a reason
    accounted = {m.source for m in done.mapped} | {u.source.split("[")[0] for u in done.unmapped} | set(done.empty)
    assert {k for k, v in source.items()} <= accounted
    assert all(u.why for u in done.unmapped)
    assert done.text.startswith("# Imported by `reins import")


def test_llamafactory_values_and_what_has_no_equivalent() -> None:
    done = import_config("llamafactory", FIXTURES / "llamafactory" / "qwen3_lora_dpo.yaml")
    r = done.recipe
    assert r["method"] == {"name": "dpo", "loss_type": "sigmoid", "beta": 0.1}
    assert r["lora"] == {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"}
    assert r["train"]["learning_rate"] == 5e-6 and r["train"]["grad_accum"] == 8 and r["train"]["max_length"] == 2048
    assert r["train"]["precision"] == "bf16" and r["train"]["gradient_checkpointing"] is True
    assert r["data"] == {"train": "dpo_en_demo", "max_rows": 1000}
    unmapped = {u.source: u.why for u in done.unmapped}
    assert set(unmapped) == {"template", "output_dir", "overwrite_output_dir", "do_train", "plot_loss", "report_to",
                             "preprocessing_num_workers", "dataloader_num_workers", "save_only_model", "ddp_timeout"}
    assert "chat template" in unmapped["template"]
    defaults = {m.target: m.note for m in done.mapped if m.source == "(unset)"}
    assert "LLaMA-Factory's default lora_alpha" in defaults["lora.alpha"]


def test_llamafactory_ppo_keeps_the_reward_model_and_lists_the_second_dataset() -> None:
    done = import_config("llamafactory", FIXTURES / "llamafactory" / "llama3_lora_ppo.yaml")
    assert done.recipe["method"] == {"name": "ppo", "reward_model": "saves/llama3-8b/lora/reward",
                                     "response_length": 512}
    unmapped = {u.source: u.why for u in done.unmapped}
    assert "alpaca_en_demo" in unmapped["dataset"] and {"top_k", "top_p"} <= set(unmapped)


def test_axolotl_values_and_what_has_no_equivalent() -> None:
    done = import_config("axolotl", FIXTURES / "axolotl" / "llama-3_qlora-1b-kto.yaml")
    r = done.recipe
    assert r["method"] == {"name": "kto", "beta": 0.5, "desirable_weight": 0.2}
    assert r["model"]["quantization"] == "4bit" and r["model"]["attn_implementation"] == "flash_attention_2"
    assert r["lora"] == {"r": 32, "alpha": 64, "dropout": 0.05, "target_modules": "all-linear"}
    assert r["train"]["optimizer"] == "adamw_8bit" and r["train"]["precision"] == "auto"
    assert r["data"]["train"] == "argilla/ultrafeedback-binarized-preferences-cleaned-kto"
    unmapped = {u.source: u.value for u in done.unmapped}
    assert unmapped["datasets[0]"] == {"type": "llama3.ultra"}  # the prompt format is listed, not guessed
    assert {"special_tokens", "evals_per_epoch", "tf32", "output_dir"} <= set(unmapped)
    assert "wandb_project" in done.empty


def test_axolotl_orpo_alpha_becomes_beta_and_explicit_modules_yield_to_target_linear() -> None:
    done = import_config("axolotl", FIXTURES / "axolotl" / "mistral_orpo_mistral-qlora-orpo.yml")
    assert done.recipe["method"] == {"name": "orpo", "beta": 0.1}
    assert done.recipe["lora"]["target_modules"] == "all-linear"
    assert "lora_target_linear" in {u.source: u.why for u in done.unmapped}["lora_target_modules"]


@pytest.mark.parametrize(("tool", "config", "message"), [
    ("llamafactory", {"stage": "pt", "model_name_or_path": "m", "dataset": "d"}, "stage 'pt'"),
    ("llamafactory", {"stage": "dpo", "pref_loss": "kto_pair", "model_name_or_path": "m", "dataset": "d"},
     "pref_loss 'kto_pair'"),
    ("llamafactory", {"stage": "sft", "finetuning_type": "freeze", "model_name_or_path": "m", "dataset": "d"},
     "finetuning_type 'freeze'"),
    ("axolotl", {"rl": "grpo", "base_model": "m", "datasets": [{"path": "d"}]}, "rl: 'grpo'"),
    ("axolotl", {"process_reward_model": True, "base_model": "m", "datasets": [{"path": "d"}]},
     "process_reward_model"),
    ("llamafactory", {"stage": "ppo", "model_name_or_path": "m", "dataset": "d"}, "method.reward_model"),
])
def test_what_reins_cannot_train_is_refused(tool: str, config: dict, message: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigImportError) as caught:
        import_config(tool, path)
    assert message in str(caught.value)


def test_ipo_and_simpo_become_their_reins_methods(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"rl": "ipo", "base_model": "m", "datasets": [{"path": "d.jsonl"}],
                                    "rl_beta": 0.2}))
    assert import_config("axolotl", path).recipe["method"] == {"name": "dpo", "loss_type": "ipo", "beta": 0.2}
    path.write_text(yaml.safe_dump({"stage": "dpo", "pref_loss": "simpo", "model_name_or_path": "m",
                                    "dataset": "d", "pref_beta": 2.5, "simpo_gamma": 0.3}))
    assert import_config("llamafactory", path).recipe["method"] == {"name": "simpo", "beta": 2.5,
                                                                    "simpo_gamma": 0.3}


def test_an_existing_output_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "recipe.yaml"
    target.write_text("mine")
    with pytest.raises(ReinsError, match="already exists"):
        import_config("axolotl", FIXTURES / "axolotl" / "qwen2_dpo.yaml", target)
    assert target.read_text() == "mine"


def test_cli_prints_the_recipe_and_the_tables_and_refuses_with_exit_2(reins, tmp_path: Path) -> None:
    res = reins("import", "axolotl", str(FIXTURES / "axolotl" / "qwen2_dpo.yaml"))
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(res.stdout)["method"]["name"] == "dpo"
    assert "no Reins equivalent" in res.stderr and "chat_template" in res.stderr
    res = reins("import", "llamafactory", str(FIXTURES / "llamafactory" / "qwen3_lora_pretrain.yaml"))
    assert res.returncode == 2 and "stage 'pt'" in res.stderr and "Traceback" not in res.stderr
    res = reins("import", "llamafactory", str(tmp_path / "missing.yaml"))
    assert res.returncode == 2 and "is not a file" in res.stderr
